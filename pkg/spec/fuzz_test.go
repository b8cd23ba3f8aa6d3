package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzLoad feeds one file of arbitrary bytes to Load: it must return a
// Desired or Errors that say where, and never panic or hang.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"full.yaml", "inherit.yaml", "anchors.yaml", "multi/30-servers.yaml", "privileges.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "version: 1\n", "version: 1\nservers: [{<<: *a}]\n", "a: &a [*a]\n",
		"version: 1\nservers:\n  - &s {name: x, <<: *s}\n",
		"version: 1\nprincipalSets: {s: &p [{name: a, type: user, memberOf: *p}]}\n",
		"version: 1\n---\nversion: 1\n", "version: !!binary aGk=\n", "? [a]\n: b\n",
		"version: 1\nprivilegeProfiles: {a: {include: [b]}, b: {include: [a], tables: [ALL]}}\n",
		"version: 1\nprivilegeProfiles: {p: &p {include: [p], tables: *p}}\n",
		"version: 1\nroleSets: {r: &r [{name: x, memberOf: *r}]}\nservers: [{name: a, host: h, user: u, includeRoles: [r], roles: *r}]\n",
		"version: 1\nservers: [{name: a, host: i, user: u, roles: [{name: x, absent: true}], grants: [&g {to: x, databases: [d], defaultsFor: [x], <<: *g}]}]\n",
	} {
		f.Add([]byte(s))
	}
	file := filepath.Join(f.TempDir(), "f.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		// The fuzzer does not notice a hang; a crash it records.
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic("Load did not return within 10s")
			}
		}()
		d, err := Load(context.Background(), []string{file})
		close(done)
		if err == nil {
			if d == nil {
				t.Fatal("Load returned neither a Desired nor an error")
			}
			_ = d.Digest()
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("Load error %T %v; want a non-empty Errors", err, err)
		}
		for _, e := range errs {
			if e.Pos.File != file || e.Msg == "" {
				t.Errorf("error without a file or a message: %#v", e)
			}
		}
	})
}
