package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// The cluster is small, local and runs what it says.
func TestClusterSettings(t *testing.T) {
	localOnly(t)
	c := New(t)
	rows, _ := c.SuperIn(t, "postgres").Query(context.Background(), `
		SELECT name, setting FROM pg_settings
		WHERE name IN ('data_directory', 'port', 'listen_addresses', 'unix_socket_directories',
		               'shared_buffers', 'fsync', 'max_connections', 'ssl', 'server_encoding', 'lc_messages')
		ORDER BY name`)
	type setting struct{ Name, Value string }
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[setting])
	if err != nil {
		t.Fatal(err)
	}
	want := []setting{
		{"data_directory", c.DataDir},
		{"fsync", "off"},
		{"lc_messages", "C"},
		{"listen_addresses", "127.0.0.1"},
		{"max_connections", "50"},
		{"port", fmt.Sprint(c.Port)},
		{"server_encoding", "UTF8"},
		{"shared_buffers", "2048"}, // 8kB pages: 16MB
		{"ssl", "off"},
		{"unix_socket_directories", c.SocketDir},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if c.Host != "127.0.0.1" || c.Admin != AdminRole || c.AdminPassword != DefaultAdminPassword {
		t.Errorf("Host, Admin, AdminPassword = %q, %q, %q", c.Host, c.Admin, c.AdminPassword)
	}
}

// Clusters are independent: roles are cluster-wide, each test has its own.
func TestClustersAreIndependent(t *testing.T) {
	localOnly(t)
	var wg sync.WaitGroup
	clusters := make([]*Cluster, 2)
	for i := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Start(context.Background(), Options{})
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(func() { c.Stop() })
			clusters[i] = c
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if clusters[0].Port == clusters[1].Port || clusters[0].DataDir == clusters[1].DataDir {
		t.Fatalf("two clusters share a port or a data directory: %+v, %+v", clusters[0], clusters[1])
	}
	clusters[0].SuperExec(t, `CREATE ROLE only_in_first`)
	if queryBool(t, clusters[1].SuperIn(t, "postgres"), `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'only_in_first')`) {
		t.Error("a role of the first cluster shows in the second")
	}
}

// StopServer and StartServer take the server away and bring it back on the
// same port with the same data; Stop removes everything.
func TestStopAndStartServer(t *testing.T) {
	localOnly(t)
	c, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	c.SuperExec(t, `CREATE ROLE survivor`)
	if err := c.StopServer(); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.ConnectConfig(context.Background(), c.AdminConfig(t)); err == nil {
		t.Error("signed in to a stopped server")
	}
	if err := c.StopServer(); err != nil {
		t.Errorf("stopping twice: %v", err)
	}
	if err := c.StartServer(); err != nil {
		t.Fatal(err)
	}
	if !queryBool(t, adminConn(t, c), `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'survivor')`) {
		t.Error("the data did not survive a restart")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.DataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data directory is still there after Stop: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("stopping twice: %v", err)
	}
}

// A port taken by someone else is reported as such, so that Start tries
// another one.
func TestPortInUse(t *testing.T) {
	localOnly(t)
	c := New(t)
	if err := c.StopServer(); err != nil {
		t.Fatal(err)
	}
	// The port was the cluster's a moment ago; another process taking it in
	// between is rare enough to report as a failure rather than hide.
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port))
	if err != nil {
		t.Fatalf("listen on the stopped cluster's port %d: %v", c.Port, err)
	}
	defer l.Close()
	if err := c.StartServer(); !errors.Is(err, errPortInUse) {
		t.Errorf("StartServer on a taken port: %v, want errPortInUse", err)
	}
	other, err := Start(context.Background(), Options{Port: c.Port})
	if err == nil {
		other.Stop()
	}
	if !errors.Is(err, errPortInUse) {
		t.Errorf("Start on a taken Port: %v, want errPortInUse", err)
	}
}

func TestFixedPort(t *testing.T) {
	localOnly(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	c := New(t, Options{Port: port})
	if c.Port != port {
		t.Fatalf("Port = %d, want %d", c.Port, port)
	}
	adminConn(t, c)
}

func TestLogConnections(t *testing.T) {
	localOnly(t)
	c := New(t, Options{LogConnections: true})
	conn := adminConn(t, c)
	conn.Close(context.Background())
	want := "connection authorized: user=pgadmin@contoso.com database=postgres"
	// The server logs the connection before answering it, but give its
	// write a moment to land.
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, err := c.Log()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(log, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log has no %q:\n%s", want, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// With TLS, TCP connections must use it.
func TestTLS(t *testing.T) {
	localOnly(t)
	pki := NewPKI(t, "pgtest", "localhost", "127.0.0.1")
	c := New(t, Options{TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile})
	var ssl bool
	if err := adminConn(t, c).QueryRow(context.Background(),
		`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl); err != nil || !ssl {
		t.Errorf("pg_stat_ssl.ssl = %v, %v; want true", ssl, err)
	}
	plain := c.AdminConfig(t)
	plain.TLSConfig = nil
	_, err := pgx.ConnectConfig(context.Background(), plain)
	if got := pgErr(err); !strings.HasPrefix(got, "28000: no pg_hba.conf entry") || !strings.Contains(got, "no encryption") {
		t.Errorf("without TLS: got %q, want a rejection by pg_hba.conf", got)
	}
}

func TestSkipWithoutPostgres(t *testing.T) {
	missing := fmt.Errorf("pgtest: %w", ErrNoPostgres)
	tests := []struct {
		name string
		err  error
		ci   string
		want bool
	}{
		{"missing, not CI", missing, "", true},
		{"missing, CI", missing, "true", false},
		{"missing, CI=1", missing, "1", false},
		{"other error", errors.New("initdb: exit status 1"), "", false},
	}
	for _, tt := range tests {
		if got := skipWithoutPostgres(tt.err, tt.ci); got != tt.want {
			t.Errorf("%s: skip = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Measures what a cluster costs a test: go test -run TestNewTime -v.
func TestNewTime(t *testing.T) {
	localOnly(t)
	New(t) // the template, once per process
	const n = 5
	start := time.Now()
	for range n {
		c, err := Start(context.Background(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("Start+Stop of a cluster: %v on average over %d", time.Since(start)/n, n)
}

func BenchmarkNew(b *testing.B) {
	localOnly(b)
	New(b) // the template, once per process
	b.ResetTimer()
	for range b.N {
		c, err := Start(context.Background(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Stop(); err != nil {
			b.Fatal(err)
		}
	}
}
