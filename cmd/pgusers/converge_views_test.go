package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pgusers/pgusers/pkg/report"
)

// The views of one outcome agree: the text and Markdown plans, and the
// text of a server dry run, say of the server what the JSON plan says.

var (
	textServerLine = regexp.MustCompile(`(?m)^server local \([^)]*\): (in sync|error|\d+ change\(s\))`)
	mdServerRow    = regexp.MustCompile("(?m)^\\| `local` \\| ([^|]+) \\|")
	mdChanges      = regexp.MustCompile("(?m)^### `local`: (\\d+) change\\(s\\)")
)

// viewsAgree plans sel as text and Markdown and checks that both say what
// the JSON report said of the server: its status and number of changes.
func (w *convergeWorld) viewsAgree(sel []string, js report.Server) *caseFailure {
	want := map[report.Status]string{report.InSync: "in sync", report.Error: "error"}[js.Status]
	if js.Status == report.Changes {
		want = fmt.Sprintf("%d change(s)", len(js.Changes))
	}
	text := runQuiet(w.f.env, append([]string{"plan"}, sel...)...)
	if m := textServerLine.FindStringSubmatch(text.stdout); m == nil || m[1] != want {
		return &caseFailure{check: "the text plan does not say what the JSON plan says (" + want + ")", detail: text.show("plan")}
	}
	md := runQuiet(w.f.env, append([]string{"plan", "--output", "markdown"}, sel...)...)
	mdWant := map[report.Status]string{report.InSync: "✅ in sync", report.Error: "❌ **error**", report.Changes: "📝 changes"}[js.Status]
	row := mdServerRow.FindStringSubmatch(md.stdout)
	count := mdChanges.FindStringSubmatch(md.stdout)
	switch {
	case row == nil || strings.TrimSpace(row[1]) != mdWant:
		return &caseFailure{check: "the Markdown plan's status is not the JSON plan's (" + mdWant + ")", detail: md.show("plan --output markdown")}
	case js.Status == report.Changes && (count == nil || count[1] != fmt.Sprint(len(js.Changes))):
		return &caseFailure{check: "the Markdown plan does not count the JSON plan's changes (" + want + ")", detail: md.show("plan --output markdown")}
	}
	return nil
}

// dryRunAgrees checks the text of a server dry run against the JSON plan
// of the same state: the same outcome and number of changes.
func dryRunAgrees(dry result, js report.Server) *caseFailure {
	var ok bool
	var want string
	switch js.Status {
	case report.Changes:
		want = fmt.Sprintf("server local: would apply %d change(s) (ran them and rolled back)", len(js.Changes))
		ok = strings.Contains(dry.stdout, want+"\n")
	default:
		want = map[report.Status]string{report.InSync: "in sync", report.Error: "error"}[js.Status]
		m := textServerLine.FindStringSubmatch(dry.stdout)
		ok = m != nil && m[1] == want
	}
	if !ok {
		return &caseFailure{check: "the server dry run's text does not say what the JSON plan says (" + want + ")", detail: dry.show("apply --dry-run=server")}
	}
	return nil
}
