package cli

import (
	"strings"
	"testing"
	"time"
)

func TestJSONRequested(t *testing.T) {
	for args, want := range map[string]bool{
		"plan --output json":         true,
		"plan --output=json":         true,
		"plan -o json":               true,
		"plan -ojson":                true,
		"plan -o=json":               true,
		"plan --output text":         false,
		"plan --out json":            false,
		"apply -- --output json":     false,
		"plan -f json --output yaml": false,
	} {
		if got := JSONRequested(strings.Fields(args)); got != want {
			t.Errorf("JSONRequested(%s) = %v, want %v", args, got, want)
		}
	}
}

func TestValuesSayWhatIsWrong(t *testing.T) {
	timeout := Duration(time.Minute)
	parallel := AtLeast{Value: 8, Min: 1}
	drops := MaxDrops(-1)
	output := NewChoice("text", "text", "json")
	var dry DryRun
	var shard Shard
	for _, tc := range []struct {
		value interface{ Set(string) error }
		in    string
		want  string // "" when in is accepted
	}{
		{&timeout, "5", `needs a unit: "5" is a number, not a duration`},
		{&timeout, "0s", `must be positive, not "0s"`},
		{&timeout, "soon", `must be a duration such as 5s, 2m or 1h30m, not "soon"`},
		{&timeout, "90m", ""},
		{&parallel, "0", "must be at least 1, not 0"},
		{&parallel, "two", `must be a whole number, not "two"`},
		{&parallel, "50", ""},
		{&drops, "-1", "must be 0 or more, not -1"},
		{&drops, "0", ""},
		{&output, "yaml", `must be one of text, json, not "yaml"`},
		{&output, "json", ""},
		{&dry, "maybe", `must be client or server, not "maybe"`},
		{&dry, "server", ""},
		{&shard, "3/3", "K must be from 0 to 2"},
		{&shard, "1/3", ""},
	} {
		err := tc.value.Set(tc.in)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Set(%q): %v", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Set(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	if got := timeout.String(); got != "1h30m" {
		t.Errorf("--timeout 90m reads back as %q", got)
	}
	if parallel.Value != 50 || drops != 0 || output.Value != "json" || dry != DryRunServer || shard.String() != "1/3" {
		t.Errorf("values kept: parallel %d, max-drops %d, output %q, dry-run %q, shard %q", parallel.Value, drops, output.Value, dry, shard.String())
	}
	var unset MaxDrops = -1
	if unset.String() != "" {
		t.Errorf("an unset --max-drops shows %q, want nothing (the files decide)", unset.String())
	}
}

func TestWantColor(t *testing.T) {
	lookup := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	for _, tc := range []struct {
		terminal bool
		vars     map[string]string
		want     bool
	}{
		{true, nil, true},
		{true, map[string]string{"TERM": "xterm-256color"}, true},
		{false, nil, false},
		{true, map[string]string{"NO_COLOR": "1"}, false},
		{true, map[string]string{"NO_COLOR": ""}, false}, // set, whatever its value
		{true, map[string]string{"TERM": "dumb"}, false},
	} {
		if got := WantColor(tc.terminal, lookup(tc.vars)); got != tc.want {
			t.Errorf("WantColor(%v, %v) = %v, want %v", tc.terminal, tc.vars, got, tc.want)
		}
	}
}
