package report

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/spec"
)

func TestProblemsOf(t *testing.T) {
	errs := spec.Errors{
		{Pos: spec.Position{File: "a.yaml", Line: 3, Column: 7}, Server: "orders", Principal: "bob", Msg: "type is required"},
		{Pos: spec.Position{File: "b.yaml"}, Msg: "no such file or directory"},
		{Msg: "no pgusers.yaml in the working directory"},
	}
	want := []Problem{
		{File: "a.yaml", Line: 3, Column: 7, Message: "server orders: principal bob: type is required"},
		{File: "b.yaml", Message: "no such file or directory"},
		{Message: "no pgusers.yaml in the working directory"},
	}
	if diff := cmp.Diff(want, ProblemsOf(errs)); diff != "" {
		t.Errorf("spec.Errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Problem{{Message: "boom"}}, ProblemsOf(errors.New("boom"))); diff != "" {
		t.Errorf("a plain error (-want +got):\n%s", diff)
	}
}

func TestProblemsJSON(t *testing.T) {
	var b bytes.Buffer
	if err := ProblemsJSON(&b, []Problem{{File: "a.yaml", Line: 3, Column: 7, Message: "x <y>"}, {Message: "usage"}}); err != nil {
		t.Fatal(err)
	}
	want := `{
  "formatVersion": "1",
  "errors": [
    {
      "file": "a.yaml",
      "line": 3,
      "column": 7,
      "message": "x <y>"
    },
    {
      "message": "usage"
    }
  ]
}
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
