package access

import (
	"cmp"
	"encoding/csv"
	"io"
	"slices"
	"strings"
)

// CSVHeader is the CSV's first line: its columns, in order.
var CSVHeader = []string{"server", "database", "grantee", "grantee_type", "kind", "schema", "object", "privilege",
	"grant_option", "source", "declared"}

// CSV writes the rows of every server reviewed (RFC 4180, UTF-8, the
// header first), sorted by the columns in order. A cell a spreadsheet
// would read as a formula (it starts with =, +, -, @, a tab or a carriage
// return) is prefixed with ': a name on a server is no one's to run.
func CSV(w io.Writer, d Document) error {
	servers := slices.Clone(d.Servers)
	slices.SortStableFunc(servers, func(a, b ServerReview) int { return cmp.Compare(a.Name, b.Name) })
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, s := range servers {
		for _, r := range s.Rows {
			record := []string{s.Name, r.Database, r.Grantee, r.GranteeType, string(r.Kind), r.Schema, r.Object, r.Privilege,
				boolString(r.GrantOption), r.Source, boolString(r.Declared)}
			for i, cell := range record {
				record[i] = neutralize(cell)
			}
			if err := cw.Write(record); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// neutralize prefixes with ' a cell that starts as a formula does.
func neutralize(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
