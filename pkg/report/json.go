package report

import (
	"bytes"
	"encoding/json"
	"io"
)

// JSON writes r as the JSON document.
func JSON(w io.Writer, r Report) error { return WriteJSON(w, r) }

// WriteJSON writes v as every JSON document of pgusers is written:
// indented by two spaces, HTML left unescaped (a name with < or & reads as
// written), and a final newline. It is what a json.Encoder with SetIndent
// writes, with the indented copy made in a buffer sized once (a 10,000-change
// report is several megabytes).
func WriteJSON(w io.Writer, v any) error {
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	var out bytes.Buffer
	out.Grow(compact.Len() * 2)
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return err
	}
	_, err := out.WriteTo(w)
	return err
}
