package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// ErrNoPostgres reports that no PostgreSQL server binaries were found on this
// machine. Outside CI, New skips the test on it; in CI it is a failure.
var ErrNoPostgres = errors.New("no PostgreSQL server binaries (initdb, postgres) found")

// findBinDir returns the directory holding initdb and postgres: the one
// pg_config names, else the newest /usr/lib/postgresql/*/bin, else PATH.
func findBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	candidates = append(candidates, debianBinDirs()...)
	for _, dir := range candidates {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if dir := filepath.Dir(initdb); hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w: looked at pg_config --bindir, /usr/lib/postgresql/*/bin and PATH", ErrNoPostgres)
}

// debianBinDirs lists /usr/lib/postgresql/<version>/bin, newest version first.
func debianBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return dirs
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// serverUser is the operating system user that runs initdb and postgres and
// owns the data. PostgreSQL refuses to run as root, so a root test process
// (as in CI) runs them as the postgres system user; anyone else runs them
// as themselves.
type serverUser struct {
	uid, gid int
	cred     *syscall.Credential // nil when the binaries run as the current user
}

func lookupServerUser() (serverUser, error) {
	if os.Geteuid() != 0 {
		return serverUser{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return serverUser{}, fmt.Errorf("running as root, PostgreSQL needs the postgres system user: %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return serverUser{}, fmt.Errorf("user postgres: uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return serverUser{}, fmt.Errorf("user postgres: gid %q: %w", u.Gid, err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	return serverUser{uid: uid, gid: gid, cred: cred}, nil
}

// command prepares a server binary to run as u, in dir, with a small fixed
// environment so that the caller's PG* variables and locale cannot leak in.
func (u serverUser) command(dir, binary string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred}
	return cmd
}

// mkdir makes a directory that u owns with the given permissions.
func (u serverUser) mkdir(path string, perm os.FileMode) error {
	if err := os.Mkdir(path, perm); err != nil {
		return err
	}
	return u.own(path, perm)
}

// own gives path to u with the given permissions (Mkdir and OpenFile are
// subject to the umask, and create files owned by the test process).
func (u serverUser) own(path string, perm os.FileMode) error {
	if u.cred != nil {
		if err := os.Lchown(path, u.uid, u.gid); err != nil {
			return err
		}
	}
	return os.Chmod(path, perm)
}
