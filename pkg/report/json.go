package report

import (
	"encoding/json"
	"io"
)

// JSON writes r as the JSON document.
func JSON(w io.Writer, r Report) error { return WriteJSON(w, r) }

// WriteJSON writes v as every JSON document of pgusers is written:
// indented by two spaces, HTML left unescaped (a name with < or & reads as
// written), and a final newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
