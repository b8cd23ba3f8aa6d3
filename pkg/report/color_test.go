package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/diff"
)

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestColorTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := ColorText(&b, Build(fleetResults(t))); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.color.txt.golden", b.Bytes())
}

// Colour adds escape codes and nothing else, and marks each change by its
// action.
func TestColorTextIsTextWithColour(t *testing.T) {
	r := Build(fleetResults(t))
	var plain, colored bytes.Buffer
	if err := Text(&plain, r); err != nil {
		t.Fatal(err)
	}
	if err := ColorText(&colored, r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(plain.String(), ansi.ReplaceAllString(colored.String(), "")); diff != "" {
		t.Errorf("ColorText without its escapes differs from Text (-text +color):\n%s", diff)
	}
	for _, want := range []string{
		ansiBold + "server orders-prod (orders-prod.postgres.database.azure.com): 4 change(s)" + ansiReset,
		ansiGreen + "  +   create orders-api",
		ansiYellow + "  -/+ replace team (group, mfa)" + ansiReset,
		ansiRed + "  -   drop old-bot",
		"  " + ansiRed + "!" + ansiReset + " connect: dial tcp",
		ansiBold + "Plan: 1 to create",
		"\n        declared, not on the server\n", // reasons stay plain
	} {
		if !strings.Contains(colored.String(), want) {
			t.Errorf("coloured plan lacks %q", want)
		}
	}
}

// Every action's mark has its colour: + green, - red, -/+ and ~ yellow.
func TestEveryMarkHasAColour(t *testing.T) {
	want := map[string]string{"+": ansiGreen, "-": ansiRed, "-/+": ansiYellow, "~": ansiYellow}
	for _, a := range diff.Actions {
		line := []byte("  " + padRight(a.Symbol(), 3) + " " + string(a) + " x")
		got := string(colorLine(nil, line))
		if !strings.HasPrefix(got, want[a.Symbol()]) || want[a.Symbol()] == "" {
			t.Errorf("%s (%s): %q", a, a.Symbol(), got)
		}
	}
}

func padRight(s string, n int) string { return s + strings.Repeat(" ", n-len(s)) }

// Lines split across writes are coloured whole.
func TestColorLinesAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	c := &colorLines{w: &out}
	for _, part := range []string{"serv", "er a (h): 1 change(s)\n  +", "   create x\nPlan: 1", " to create."} {
		c.Write([]byte(part))
	}
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	want := ansiBold + "server a (h): 1 change(s)" + ansiReset + "\n" + ansiGreen + "  +   create x" + ansiReset + "\n" + ansiBold + "Plan: 1 to create." + ansiReset
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}
