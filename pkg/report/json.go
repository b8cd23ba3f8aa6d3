package report

import (
	"encoding/json"
	"io"
)

// JSON writes r as the JSON document: indented by two spaces, HTML left
// unescaped (a name with < or & reads as written), and a final newline.
func JSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
