package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// A workspace is what every cluster of a process shares: the server
// binaries, the user that runs them, and a template data directory that
// already holds the emulation, Azure's roles and the Entra administrator.
// initdb and the setup run once per process; each cluster is then a copy of
// the template, which is several times faster than an initdb of its own.
type workspace struct {
	binDir   string
	user     serverUser
	dir      string // <tmp>/pgusers-pgtest-<pid>-*: the template and every cluster
	template string // the template's data directory
}

// shared is the process's workspace. It is package state on purpose: many
// tests of one binary ask for clusters through New(t), and they must share
// one template without passing anything around. A failure is kept too, so
// that a machine without PostgreSQL does not run initdb once per test.
var shared struct {
	mu  sync.Mutex
	ws  *workspace
	err error
}

func getWorkspace() (*workspace, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.ws == nil && shared.err == nil {
		// Not the caller's context: the result serves every later caller.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		shared.ws, shared.err = newWorkspace(ctx)
	}
	return shared.ws, shared.err
}

// Shutdown removes the process's template. Clusters still running are left
// alone, but no new one can start until the next Start rebuilds the
// template. Main calls it after the tests; a program that used Start calls
// it before exiting. Should it not be called, the next process to build a
// template removes the files.
func Shutdown() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	ws := shared.ws
	shared.ws, shared.err = nil, nil
	if ws == nil {
		return nil
	}
	return os.RemoveAll(ws.dir)
}

const dirPrefix = "pgusers-pgtest-"

func newWorkspace(ctx context.Context) (*workspace, error) {
	binDir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	u, err := lookupServerUser()
	if err != nil {
		return nil, err
	}
	sweepStaleWorkspaces()
	dir, err := os.MkdirTemp("", dirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	// The server user must reach the directories inside.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ws := &workspace{binDir: binDir, user: u, dir: dir}
	if err := ws.buildTemplate(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("build the template cluster: %w", err)
	}
	return ws, nil
}

// baseConfig is appended to every cluster's postgresql.conf: a small server
// that does not care about durability, and English messages whatever the
// machine's locale.
const baseConfig = `
# pgtest: a small, fast, throwaway server
shared_buffers = 16MB
max_connections = 50
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
min_wal_size = 2MB
max_wal_size = 64MB
huge_pages = off
jit = off
listen_addresses = ''
lc_messages = 'C'
password_encryption = 'scram-sha-256'
log_line_prefix = '%m [%p] %q%u@%d '
`

func (ws *workspace) buildTemplate(ctx context.Context) error {
	u := ws.user
	dir := filepath.Join(ws.dir, "template")
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "sock")
	for _, d := range []string{dir, data, sock} {
		if err := u.mkdir(d, 0o700); err != nil {
			return err
		}
	}
	// 1 MB WAL segments instead of 16: less to copy for each cluster.
	initdb := u.command(ws.dir, filepath.Join(ws.binDir, "initdb"), "-D", data, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--wal-segsize=1")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if err := appendFile(filepath.Join(data, "postgresql.conf"), baseConfig); err != nil {
		return err
	}
	// Unix socket only: no port to race for.
	pm, err := startPostmaster(ctx, u, ws.binDir, data, filepath.Join(dir, "server.log"),
		[]string{"-p", "5432", "-k", sock})
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, superuserDSN(sock, 5432))
	if err == nil {
		err = install(ctx, conn)
		conn.Close(context.WithoutCancel(ctx))
	}
	// A fast shutdown ends with a checkpoint, so copies start without recovery.
	if stopErr := pm.stop(syscall.SIGINT, time.Minute); err == nil {
		err = stopErr
	}
	if err != nil {
		return err
	}
	if err := ws.trimWAL(data); err != nil {
		return err
	}
	if err := trimMaps(data); err != nil {
		return err
	}
	ws.template = data
	return nil
}

// trimMaps removes the free space and visibility maps of every relation: a
// quarter of the template's files, and most of the cost of copying it is
// creating files. PostgreSQL treats a missing map as empty and builds it
// again when it needs one.
func trimMaps(data string) error {
	return filepath.WalkDir(filepath.Join(data, "base"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name := d.Name(); d.Type().IsRegular() && (strings.HasSuffix(name, "_fsm") || strings.HasSuffix(name, "_vm")) {
			return os.Remove(path)
		}
		return nil
	})
}

// trimWAL removes the WAL segments a cleanly shut down server does not need
// (those recycled for later use), leaving less to copy for each cluster.
func (ws *workspace) trimWAL(data string) error {
	out, err := ws.user.command(ws.dir, filepath.Join(ws.binDir, "pg_controldata"), data).Output()
	if err != nil {
		return fmt.Errorf("pg_controldata: %w", err)
	}
	var redo string
	for _, line := range strings.Split(string(out), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && name == "Latest checkpoint's REDO WAL file" {
			redo = strings.TrimSpace(value)
		}
	}
	if redo == "" {
		return fmt.Errorf("pg_controldata names no REDO WAL file:\n%s", out)
	}
	segments, err := os.ReadDir(filepath.Join(data, "pg_wal"))
	if err != nil {
		return err
	}
	for _, s := range segments {
		if s.Type().IsRegular() && len(s.Name()) == len(redo) && s.Name() != redo {
			if err := os.Remove(filepath.Join(data, "pg_wal", s.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyTemplate copies the template data directory to dst, owned by the
// server user.
func (ws *workspace) copyTemplate(dst string) error {
	src := ws.template
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return ws.user.mkdir(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			return ws.copyFile(path, target, info.Mode().Perm())
		default:
			return fmt.Errorf("copy the template: unexpected file %s (%s)", path, info.Mode().Type())
		}
	})
}

func (ws *workspace) copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if ws.user.cred != nil {
		if err := out.Chown(ws.user.uid, ws.user.gid); err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

// sweepStaleWorkspaces removes the workspaces of this user's processes that
// are gone: a test binary killed by a timeout runs no cleanup. A server
// still running in one notices its data directory is gone within a minute
// and shuts down.
func sweepStaleWorkspaces() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		pidText, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(dir), dirPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid == os.Getpid() || processExists(pid) {
			continue
		}
		info, err := os.Lstat(dir)
		if err != nil || !info.IsDir() {
			continue
		}
		if st, ok := info.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// superuserDSN is the connection string of the postgres superuser over the
// unix socket in sockDir. Every setting is explicit so that PG* variables
// of the environment cannot redirect it.
func superuserDSN(sockDir string, port int) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", quoteDSN(sockDir), port)
}

// quoteDSN quotes a value for a keyword/value connection string.
func quoteDSN(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
