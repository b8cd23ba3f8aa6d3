package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PgBouncer is a PgBouncer in session pooling mode in front of a cluster,
// for benchmarks that must measure the client and not this machine's slow
// backend start-up: once a server connection is open, a client's sign-in
// to PgBouncer costs no fork. Sign-in takes the administrator's password as
// it is (auth_type plain), as Azure takes an Entra token. A server
// connection goes back to the pool without DISCARD ALL (server_reset_query
// is empty): pgusers leaves no session state (its settings are SET LOCAL),
// and the reset would be the server's work, not the client's.
type PgBouncer struct {
	Port int
	log  string
}

// StartPgBouncer starts PgBouncer before c, keeping up to poolSize server
// connections open (session pooling: a client holds one for its whole
// session). It stops when tb ends. It needs the pgbouncer program (Debian:
// apt-get install pgbouncer), which runs as the user that runs the
// cluster's postgres.
func (c *Cluster) StartPgBouncer(tb testing.TB, poolSize int) *PgBouncer {
	tb.Helper()
	if c.ws == nil {
		tb.Fatal("pgtest: PgBouncer runs only before a throwaway cluster")
	}
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			tb.Fatal("pgtest: pgbouncer not found; install it (Debian: apt-get install pgbouncer)")
		}
		bin = "/usr/sbin/pgbouncer"
	}
	u := c.ws.user
	dir := filepath.Join(filepath.Dir(c.DataDir), "pgbouncer")
	if err := u.mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	b := &PgBouncer{Port: port, log: filepath.Join(dir, "pgbouncer.log")}
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	users := fmt.Sprintf("%s %s\n", quote(c.Admin), quote(c.AdminPassword))
	ini := fmt.Sprintf(`[databases]
* = host=127.0.0.1 port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = plain
auth_file = %s
pool_mode = session
max_client_conn = 10000
default_pool_size = %d
max_db_connections = %d
server_idle_timeout = 0
server_lifetime = 86400
server_login_retry = 1
server_reset_query =
logfile = %s
log_connections = 0
log_disconnections = 0
`, c.Port, port, filepath.Join(dir, "users.txt"), poolSize, poolSize, b.log)
	if err := writeOwned(u, filepath.Join(dir, "users.txt"), []byte(users)); err != nil {
		tb.Fatal(err)
	}
	if err := writeOwned(u, filepath.Join(dir, "pgbouncer.ini"), []byte(ini)); err != nil {
		tb.Fatal(err)
	}
	cmd := u.command(dir, bin, filepath.Join(dir, "pgbouncer.ini"))
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	if err := cmd.Start(); err != nil {
		tb.Fatalf("pgtest: start pgbouncer: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			conn.Close()
			return b
		}
		select {
		case err := <-exited:
			tb.Fatalf("pgtest: pgbouncer exited: %v\n%s", err, readFrom(b.log, 0))
		case <-ctx.Done():
			tb.Fatalf("pgtest: pgbouncer did not listen within 10s\n%s", readFrom(b.log, 0))
		case <-time.After(20 * time.Millisecond):
		}
	}
}
