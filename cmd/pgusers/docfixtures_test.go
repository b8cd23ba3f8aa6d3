package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgusers/pgusers/internal/armfake"
	"github.com/pgusers/pgusers/internal/demo/world"
	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/run"
)

// docFixtures are what the console examples of the documentation run
// against, by the name their block gives (```console fixture=NAME). Each
// runs in the example's working directory, an empty one, and may change
// the env the commands get. A fixture that is only files is a directory
// of testdata/docexamples instead.
var docFixtures = map[string]func(t *testing.T, ex *docExample, e *env){
	// The page's YAML block just before the example, as pgusers.yaml.
	"yaml": func(t *testing.T, ex *docExample, _ *env) {
		writeFile(t, ".", "pgusers.yaml", ex.yaml)
	},
	// A release build: the version and commit GoReleaser sets.
	"release": func(t *testing.T, _ *docExample, _ *env) {
		oldVersion, oldCommit := version, commit
		version, commit = "v0.1.0", "0123456789abcdef0123456789abcdef01234567"
		t.Cleanup(func() { version, commit = oldVersion, oldCommit })
	},
	// examples/pgusers.yaml with its first defaultsFor taken out.
	"examples-without-defaultsFor": func(t *testing.T, ex *docExample, _ *env) {
		b, err := os.ReadFile(filepath.Join(ex.root, "examples", "pgusers.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(b), "\n")
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), "defaultsFor:") {
				lines = append(lines[:i], lines[i+1:]...)
				break
			}
		}
		writeFile(t, ".", "pgusers.yaml", strings.Join(lines, ""))
	},
	// The page's YAML block as pgusers.yaml, and an Azure subscription
	// whose resource group rg-billing holds billing-eu and billing-old,
	// tagged env: prod, and billing-dev, tagged env: dev.
	"billing-fleet": func(t *testing.T, ex *docExample, e *env) {
		writeFile(t, ".", "pgusers.yaml", ex.yaml)
		const sub, rg = "3f2b1c0d-0000-4000-8000-0000000000d1", "rg-billing"
		arm := armfake.Start(t, armfake.Options{Servers: []armfake.Server{
			{Subscription: sub, ResourceGroup: rg, Name: "billing-eu", Entra: "Enabled",
				Tags:   map[string]string{"env": "prod", "team": "billing"},
				Admins: []armfake.Admin{{Name: "pg-admins", Type: armfake.Group, ObjectID: "0c4d8e2a-7b1f-4a3e-9c5d-2e8f6a1b3c7d"}}},
			{Subscription: sub, ResourceGroup: rg, Name: "billing-old", Entra: "Disabled", Version: "14",
				Tags: map[string]string{"env": "prod"}},
			{Subscription: sub, ResourceGroup: rg, Name: "billing-dev", Entra: "Enabled",
				Tags: map[string]string{"env": "dev"}},
		}})
		e.arm = run.ARM{Cloud: arm.Cloud(), Transport: arm.Transport(), Retry: armfake.Retry()}
		e.connect.Credentials = connect.NewCredentialsWith(&armfake.Credential{})
	},
	// The server of make demo on a throwaway cluster, after the demo's
	// first apply and the changes someone then made by hand; the demo's
	// file, on the cluster's port, is examples/local/pgusers.yaml.
	"demo-drifted": func(t *testing.T, ex *docExample, e *env) {
		ctx := context.Background()
		c := pgtest.New(t)
		if err := world.Build(ctx, c); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(ex.root, "examples", "local", "pgusers.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "port: 54329") {
			t.Fatal("examples/local/pgusers.yaml has no port: 54329 to point at the cluster")
		}
		if err := os.MkdirAll(filepath.Join("examples", "local"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join("examples", "local"), "pgusers.yaml", strings.Replace(string(b), "port: 54329", fmt.Sprintf("port: %d", c.Port), 1))
		e.getenv = func(k string) string {
			if k == "PGUSERS_DEMO_PASSWORD" {
				return c.AdminPassword
			}
			return ""
		}
		applyConverged(t, *e, []string{"-f", "examples/local/pgusers.yaml"})
		if err := world.DriftByHand(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := world.NewTable(ctx, c); err != nil {
			t.Fatal(err)
		}
	},
}
