package report

import (
	"errors"
	"io"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Problems is the JSON document of a run that ended before it had a
// report: problems in the desired-state files, or a mistake on the command
// line. With --output json it is what stdout holds instead of the Report,
// so that a machine always reads one JSON document:
//
//	{"formatVersion": "1", "errors": [{"file": "a.yaml", "line": 3, "column": 7, "message": "..."}]}
type Problems struct {
	FormatVersion string    `json:"formatVersion"`
	Errors        []Problem `json:"errors"`
}

// Problem is one error. File, Line and Column are present only when known:
// a problem in a file has its file, and its line and column where it is at
// one place in it; a command-line mistake has none of them. Message does
// not repeat the position; it starts with what the problem is about where
// that is known ("server orders-prod: principal bob: ...").
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// ProblemsOf lists the problems err holds: each problem of the files with
// its position, or err's message alone.
func ProblemsOf(err error) []Problem {
	var es spec.Errors
	if errors.As(err, &es) {
		out := make([]Problem, 0, len(es))
		for _, e := range es {
			bare := *e
			bare.Pos = spec.Position{}
			out = append(out, Problem{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Column, Message: bare.Error()})
		}
		return out
	}
	return []Problem{{Message: err.Error()}}
}

// ProblemsJSON writes the Problems document of ps, formatted as JSON writes
// a Report.
func ProblemsJSON(w io.Writer, ps []Problem) error {
	return WriteJSON(w, Problems{FormatVersion: FormatVersion, Errors: ps})
}
