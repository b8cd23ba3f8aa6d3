package main

import (
	"path/filepath"
	"testing"

	"github.com/pgusers/pgusers/pkg/planfile"
	"github.com/pgusers/pgusers/pkg/report"
)

// A drift check of an emptied directory must fail, not pass forever.
func TestEmptyFleetIsAnError(t *testing.T) {
	dir := t.TempDir()
	empty := writeFile(t, dir, "empty.yaml", "version: 1\nservers: []\n")
	sets := writeFile(t, dir, "sets.yaml", "version: 1\nprincipalSets:\n  team: []\n")
	for _, args := range [][]string{
		{"plan", "-f", empty, "--detailed-exitcode"},
		{"plan", "-f", sets},
		{"plan", "-f", empty, "-f", sets, "--output", "markdown"},
		{"apply", "-f", empty, "--auto-approve"},
		{"apply", "-f", sets, "--dry-run"},
		{"export", "-f", empty, "--server", "x"},
	} {
		r := pgusers(t, env{}, args...)
		wantCode(t, r, exitError)
		if args[0] == "export" {
			mustContain(t, "stderr", r.stderr, `--server "x" is not in the files`)
			continue
		}
		mustContain(t, "stderr", r.stderr, "the files declare no server", "nothing to plan or apply")
		if r.stdout != "" {
			t.Errorf("stdout = %q, want nothing", r.stdout)
		}
	}
	// validate still accepts a file of sets alone: it is part of a layout.
	wantCode(t, pgusers(t, env{}, "validate", "-f", sets), exitOK)

	// A saved plan of no server (as an older pgusers could save) is refused
	// when opened.
	planFile := filepath.Join(dir, "empty-plan.json")
	if err := planfile.Save(planFile, planfile.Plan{Pgusers: versionString(), Report: report.Build(nil)}); err != nil {
		t.Fatal(err)
	}
	r := pgusers(t, env{}, "apply", planFile, "--auto-approve")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "it holds no server")
}
