package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const twoServers = `version: 1
defaults: {user: pgadmin@contoso.com}
servers:
  - {name: orders, host: orders.example, maxDrops: 3}
  - {name: billing, host: billing.example}
`

func loadFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pgusers.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadPicksTheServersTheCommandLineNames(t *testing.T) {
	file := loadFile(t, twoServers)
	sel := Selection{Files: []string{file}, Servers: []string{"billing"}, MaxDrops: 7, Discovery: time.Minute}
	cfg := Config{Log: quietLogger}
	l, err := Load(context.Background(), sel, &cfg, ARM{}, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range l.Servers {
		got = append(got, s.Name)
	}
	if diff := cmp.Diff([]string{"billing"}, got); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	if l.Servers[0].MaxDrops != 7 {
		t.Errorf("--max-drops 7 gave maxDrops %d", l.Servers[0].MaxDrops)
	}
	if s, _ := l.Desired.Server("orders"); s.MaxDrops != 3 {
		t.Errorf("the override changed the desired state: orders has maxDrops %d, want the file's 3", s.MaxDrops)
	}
	if l.Reads != nil {
		t.Error("reads started without early")
	}
}

func TestLoadErrors(t *testing.T) {
	cfg := Config{Log: quietLogger}
	_, err := Load(context.Background(), Selection{Files: []string{loadFile(t, twoServers)}, Servers: []string{"biling"}, MaxDrops: -1, Discovery: time.Minute}, &cfg, ARM{}, false)
	var se *SelectionError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `did you mean "billing"?`) {
		t.Errorf("--server biling: got %v, want a SelectionError suggesting billing", err)
	}
	_, err = Load(context.Background(), Selection{Files: []string{loadFile(t, "version: 1\n")}, MaxDrops: -1, Discovery: time.Minute}, &cfg, ARM{}, false)
	if err == nil || !strings.Contains(err.Error(), "declare no server") {
		t.Errorf("no server: got %v, want an error saying the files declare no server", err)
	}
}
