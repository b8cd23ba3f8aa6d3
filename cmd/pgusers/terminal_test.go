package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/report"
)

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// On a terminal the text plan is coloured; JSON, Markdown and SQL never
// are, nor anything when env says stdout is not a terminal or NO_COLOR.
// apply --output json on a terminal shows the plan on stderr before it
// asks, and writes the JSON once, after the apply.
func TestTerminalOutput(t *testing.T) {
	f := newFixture(t)
	file := f.file(t, "p.yaml", `    principals:
      - {name: colour-bot, type: service, objectId: `+pgtest.ObjectID("colour-bot")+`, memberOf: [reporting]}
`)
	term := f.env
	term.color, term.colorStderr = true, true

	r := pgusers(t, term, "plan", "-f", file)
	wantCode(t, r, exitOK)
	mustContain(t, "coloured plan", r.stdout, "\x1b[1mserver local (", "\x1b[32m  +   create colour-bot")
	if plain := ansiEscape.ReplaceAllString(r.stdout, ""); !strings.Contains(plain, "Plan: 1 to create, 0 to replace, 0 to drop, 1 to grant") {
		t.Errorf("the coloured plan without colour is not the plan:\n%s", plain)
	}
	for _, args := range [][]string{
		{"plan", "-f", file, "--output", "json"},
		{"plan", "-f", file, "--output", "markdown"},
		{"apply", "-f", file, "--dry-run"},
	} {
		r := pgusers(t, term, args...)
		wantCode(t, r, exitOK)
		if ansiEscape.MatchString(r.stdout) {
			t.Errorf("%s is coloured:\n%q", strings.Join(args, " "), r.stdout)
		}
	}
	r = pgusers(t, f.env, "plan", "-f", file)
	wantCode(t, r, exitOK)
	if ansiEscape.MatchString(r.stdout + r.stderr) {
		t.Errorf("output that is not a terminal is coloured")
	}

	// apply --output json on a terminal: the question, after the plan on
	// stderr; "no" cancels, and stdout holds the errors document.
	ask := term
	ask.interactive = true
	ask.stdin = strings.NewReader("no\n")
	r = pgusers(t, ask, "apply", "-f", file, "--output", "json")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "+   create colour-bot", "Plan: 1 to create", "Apply these changes to 1 server(s)?",
		"apply cancelled; nothing was changed")
	if strings.Index(r.stderr, "Plan: 1 to create") > strings.Index(r.stderr, "Apply these changes") {
		t.Errorf("the plan comes after the question")
	}
	doc, _ := jsonProblems(t, r.stdout)
	if len(doc.Errors) != 1 || doc.Errors[0].Message != "apply cancelled; nothing was changed" {
		t.Errorf("stdout errors = %+v", doc.Errors)
	}

	ask.stdin = strings.NewReader("yes\n")
	r = pgusers(t, ask, "apply", "-f", file, "--output", "json")
	wantCode(t, r, exitOK)
	mustContain(t, "stderr", r.stderr, "\x1b[32m  +   create colour-bot", "Apply these changes to 1 server(s)?")
	var applied report.Report
	if err := json.Unmarshal([]byte(r.stdout), &applied); err != nil {
		t.Fatalf("stdout is not one JSON report: %v", err)
	}
	if len(applied.Servers) != 1 || applied.Servers[0].Status != report.Applied {
		t.Errorf("report = %+v, want the server applied", applied.Servers)
	}
	if !hasRole(t, f.c, "colour-bot") {
		t.Errorf("colour-bot was not created")
	}
	mustPlanEmpty(t, f.env, "-f", file)
}

// apply </dev/null (cron, a CI step, nohup) has no one to answer: it must
// ask for --auto-approve before reading any server, not prompt and read
// end of file. Stdin and stderr are /dev/null, a character device.
func TestApplyFromDevNullAsksForAutoApprove(t *testing.T) {
	f := newFixture(t)
	file := f.file(t, "p.yaml", `    principals:
      - {name: null-bot, type: service, objectId: `+pgtest.ObjectID("null-bot")+`}
`)
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	e := fileEnv(devNull, devNull, devNull)
	if e.interactive || e.progress || e.color || e.colorStderr {
		t.Errorf("/dev/null is taken for a terminal: interactive %v, progress %v, colour %v/%v", e.interactive, e.progress, e.color, e.colorStderr)
	}
	e.getenv = f.env.getenv
	r := pgusers(t, e, "apply", "-f", file)
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "stdin is not a terminal: pass --auto-approve")
	if strings.Contains(r.stderr, "Apply these changes") {
		t.Errorf("apply prompted with stdin from /dev/null")
	}
	if hasRole(t, f.c, "null-bot") {
		t.Errorf("null-bot was created")
	}
}
