package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running throwaway PostgreSQL with the pgaadauth emulation in
// its postgres database, or (with PGUSERS_TEST_DSN) an existing server
// prepared the same way.
type Cluster struct {
	Host          string // "127.0.0.1"
	Port          int
	Admin         string // the Entra administrator role tests sign in as: AdminRole
	AdminPassword string // its password, standing in for an Entra token
	DataDir       string // "" for an existing server
	SocketDir     string // "" for an existing server

	dir     string // holds DataDir, SocketDir and the log
	logPath string
	args    []string // postgres command line after -D
	tls     bool
	ws      *workspace

	mu sync.Mutex
	pm *postmaster // nil while the server is stopped

	ext *external // non-nil for an existing server
}

// Options change how a cluster is set up. The zero value is a plain server.
type Options struct {
	// TLSCertFile and TLSKeyFile, when set, make the server require TLS with
	// this certificate and key (PEM files): TCP connections are accepted over
	// TLS only, with scram-sha-256.
	TLSCertFile, TLSKeyFile string
	// LogConnections logs connections and disconnections; read the log with
	// (*Cluster).Log.
	LogConnections bool
	// Port, when set, is the TCP port to listen on (a demo whose files name
	// it); otherwise a free one is picked. A taken Port is an error.
	Port int
	// PlainPassword makes TCP sign-in take the password as it is (pg_hba
	// method "password") instead of through SCRAM. That is how Azure takes
	// an Entra access token: one round trip fewer than SCRAM and no key
	// stretching, which matters when a benchmark signs in to a fleet.
	PlainPassword bool
	// GroupSync turns the server parameter pgaadauth.enable_group_sync on,
	// so that pgaadauth_sync_roles_for_group_members succeeds. Off, as on a
	// new Azure server, it is "off"; either way any role reads it with SHOW
	// or current_setting.
	GroupSync bool
	// MaxConnections, when set, replaces the small server's 50: a
	// benchmark that keeps a pooler's connections warm needs more.
	MaxConnections int
}

// Start starts a throwaway cluster. It is meant for programs other than
// tests (a demo); tests use New. Stop it when done, and call Shutdown before
// the program exits. PGUSERS_TEST_DSN does not apply here.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		return nil, errors.New("pgtest: TLS needs both TLSCertFile and TLSKeyFile")
	}
	ws, err := getWorkspace()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c, err := startCopy(ctx, ws, opts)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return c, nil
}

func startCopy(ctx context.Context, ws *workspace, opts Options) (*Cluster, error) {
	u := ws.user
	dir, err := os.MkdirTemp(ws.dir, "c")
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		Host:          "127.0.0.1",
		Admin:         AdminRole,
		AdminPassword: DefaultAdminPassword,
		DataDir:       filepath.Join(dir, "data"),
		SocketDir:     filepath.Join(dir, "sock"),
		dir:           dir,
		logPath:       filepath.Join(dir, "server.log"),
		tls:           opts.TLSCertFile != "",
		ws:            ws,
	}
	// A unix socket path has at most 107 bytes on Linux.
	if sock := filepath.Join(c.SocketDir, ".s.PGSQL.65535"); len(sock) > 107 {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("the socket path %s is too long for a unix socket: use a shorter TMPDIR", sock)
	}
	if err := c.prepare(opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A free port comes from the kernel, but another process may take it
	// before postgres binds it: then try another one.
	for attempt := 1; ; attempt++ {
		c.Port = opts.Port
		if c.Port == 0 {
			if c.Port, err = freePort(); err != nil {
				break
			}
		}
		c.args = c.serverArgs(opts)
		c.pm, err = startPostmaster(ctx, u, ws.binDir, c.DataDir, c.logPath, c.args)
		if !errors.Is(err, errPortInUse) || opts.Port != 0 || attempt == 5 {
			break
		}
	}
	if errors.Is(err, errPortInUse) {
		err = fmt.Errorf("port %d on 127.0.0.1: %w", c.Port, err)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// prepare makes the cluster's directories and its per-cluster files.
func (c *Cluster) prepare(opts Options) error {
	u := c.ws.user
	if err := u.own(c.dir, 0o700); err != nil {
		return err
	}
	if err := u.mkdir(c.SocketDir, 0o700); err != nil {
		return err
	}
	if err := c.ws.copyTemplate(c.DataDir); err != nil {
		return fmt.Errorf("copy the template: %w", err)
	}
	hostType := "host"
	if c.tls {
		hostType = "hostssl"
		// postgres wants its key readable by its own user only.
		for src, name := range map[string]string{opts.TLSCertFile: "server.crt", opts.TLSKeyFile: "server.key"} {
			b, err := os.ReadFile(src)
			if err != nil {
				return err
			}
			if err := writeOwned(u, filepath.Join(c.DataDir, name), b); err != nil {
				return err
			}
		}
	}
	method := "scram-sha-256"
	if opts.PlainPassword {
		method = "password"
	}
	hba := "# pgtest: the superuser over the socket; everyone over TCP with a password\n" +
		"local all postgres trust\n" +
		hostType + " all all 127.0.0.1/32 " + method + "\n"
	return writeOwned(u, filepath.Join(c.DataDir, "pg_hba.conf"), []byte(hba))
}

func (c *Cluster) serverArgs(opts Options) []string {
	args := []string{"-p", strconv.Itoa(c.Port), "-k", c.SocketDir, "-c", "listen_addresses=127.0.0.1"}
	// No module defines the parameter here: the server keeps it as a
	// placeholder, a string that exists only because it is set.
	groupSync := "off"
	if opts.GroupSync {
		groupSync = "on"
	}
	args = append(args, "-c", "pgaadauth.enable_group_sync="+groupSync)
	if opts.MaxConnections > 0 {
		args = append(args, "-c", "max_connections="+strconv.Itoa(opts.MaxConnections))
	}
	if c.tls {
		args = append(args, "-c", "ssl=on", "-c", "ssl_cert_file=server.crt", "-c", "ssl_key_file=server.key")
	}
	if opts.LogConnections {
		args = append(args, "-c", "log_connections=on", "-c", "log_disconnections=on")
	}
	return args
}

// Stop shuts the server down (fast shutdown) and removes its files. It may
// be called more than once.
func (c *Cluster) Stop() error {
	if c.ext != nil {
		return c.ext.release()
	}
	// The data goes away, so an immediate shutdown is enough, and faster.
	c.mu.Lock()
	var err error
	if c.pm != nil {
		err = c.pm.stop(syscall.SIGQUIT, 10*time.Second)
		c.pm = nil
	}
	c.mu.Unlock()
	if rmErr := os.RemoveAll(c.dir); err == nil {
		err = rmErr
	}
	return err
}

// StopServer stops the postmaster but keeps the data, to test what a client
// does when the server is down. StartServer brings it back on the same port.
func (c *Cluster) StopServer() error {
	if c.ext != nil {
		return errExternal
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pm == nil {
		return nil
	}
	err := c.pm.stop(syscall.SIGINT, 30*time.Second)
	c.pm = nil
	return err
}

// StartServer starts a server stopped by StopServer again, on the same port
// and with the same data.
func (c *Cluster) StartServer() error {
	if c.ext != nil {
		return errExternal
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pm != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pm, err := startPostmaster(ctx, c.ws.user, c.ws.binDir, c.DataDir, c.logPath, c.args)
	if err != nil {
		return fmt.Errorf("pgtest: restart the server on port %d: %w", c.Port, err)
	}
	c.pm = pm
	return nil
}

// Log returns what the server has logged so far.
func (c *Cluster) Log() (string, error) {
	if c.ext != nil {
		return "", errExternal
	}
	b, err := os.ReadFile(c.logPath)
	return string(b), err
}

// Super connects as the superuser postgres to the postgres database, over
// the unix socket (or as the PGUSERS_TEST_DSN says).
func (c *Cluster) Super(ctx context.Context) (*pgx.Conn, error) {
	config, err := c.SuperConfig()
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("pgtest: connect as the superuser: %w", err)
	}
	return conn, nil
}

// SuperConfig is the configuration Super connects with; change its Database
// to reach another database as the superuser.
func (c *Cluster) SuperConfig() (*pgx.ConnConfig, error) {
	if c.ext != nil {
		return c.ext.config.Copy(), nil
	}
	config, err := pgx.ParseConfig(superuserDSN(c.SocketDir, c.Port))
	if err != nil {
		return nil, fmt.Errorf("pgtest: superuser configuration: %w", err)
	}
	return config, nil
}

// AdminConnString is the connection string of the Entra administrator: TCP
// to Host:Port, database postgres, sslmode require on a TLS cluster and
// disable otherwise.
func (c *Cluster) AdminConnString() string {
	if c.ext != nil {
		return c.ext.adminConnString(c)
	}
	sslmode := "disable"
	if c.tls {
		sslmode = "require"
	}
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=postgres sslmode=%s",
		c.Host, c.Port, quoteDSN(c.Admin), quoteDSN(c.AdminPassword), sslmode)
}

// SetAdminPassword changes the administrator's password (a new "token")
// and AdminPassword with it.
func (c *Cluster) SetAdminPassword(ctx context.Context, password string) error {
	conn, err := c.Super(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := setPassword(ctx, conn, c.Admin, password); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	c.AdminPassword = password
	return nil
}

// logTail returns the last n lines of the server log, for failing tests.
func (c *Cluster) logTail(n int) string {
	log, err := c.Log()
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func writeOwned(u serverUser, path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	return u.own(path, 0o600)
}
