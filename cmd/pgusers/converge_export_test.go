package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pgusers/pgusers/pkg/spec"
)

// exportConverges exports the server with every case database: that file
// must plan empty, and exporting it again must give it byte for byte.
func (w *convergeWorld) exportConverges(t *testing.T, c *convergeCase) (*caseFailure, error) {
	t.Helper()
	export := func(from string) (result, []string) {
		args := []string{"export", "-f", from, "--server", "local"}
		for _, db := range c.Databases {
			args = append(args, "--database", db)
		}
		return runQuiet(w.f.env, args...), args
	}
	first, args := export(filepath.Join(w.f.dir, "case.yaml"))
	if first.code != exitOK {
		return &caseFailure{check: "export fails", detail: first.show(args...)}, nil
	}
	exported := writeFile(t, w.f.dir, "export.yaml", first.stdout)
	plan := runQuiet(w.f.env, "plan", "-f", exported, "--detailed-exitcode")
	if plan.code != exitOK {
		return &caseFailure{check: "the export of the server does not plan empty", detail: first.show(args...) + "\n" + plan.show("plan -f export.yaml")}, nil
	}
	if missing := undeclaredMembers(first.stdout); len(missing) > 0 {
		return &caseFailure{check: "the export names roles in memberOf that it does not declare", detail: fmt.Sprintf("undeclared: %q\n%s", missing, first.show(args...))}, nil
	}
	again, args := export(exported)
	if again.code != exitOK || again.stdout != first.stdout {
		return &caseFailure{check: "exporting the export does not give the same file", detail: first.show(args...) + "\n" + again.show(args...)}, nil
	}
	return nil, nil
}

// undeclaredMembers lists the roles an exported file's principals and
// group roles name in memberOf but that it declares neither as a principal
// nor as a group role: an export declares every role it names.
func undeclaredMembers(exported string) []string {
	var file struct {
		Servers []struct {
			Principals []struct {
				Name     string   `yaml:"name"`
				MemberOf []string `yaml:"memberOf"`
			} `yaml:"principals"`
			Roles []struct {
				Name     string   `yaml:"name"`
				MemberOf []string `yaml:"memberOf"`
			} `yaml:"roles"`
		} `yaml:"servers"`
	}
	if err := yaml.Unmarshal([]byte(exported), &file); err != nil || len(file.Servers) != 1 {
		return []string{fmt.Sprintf("(the export is not one server's file: %v)", err)}
	}
	s := file.Servers[0]
	declared := map[string]bool{}
	var named []string
	for _, p := range s.Principals {
		declared[p.Name] = true
		named = append(named, p.MemberOf...)
	}
	for _, r := range s.Roles {
		declared[r.Name] = true
		named = append(named, r.MemberOf...)
	}
	var missing []string
	for _, n := range named {
		if !declared[n] && !spec.Reserved(n) && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	return missing
}
