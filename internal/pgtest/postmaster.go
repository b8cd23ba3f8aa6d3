package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errPortInUse reports that the postmaster could not bind its port, which
// another process took between freePort and the bind: start again elsewhere.
var errPortInUse = errors.New("port already in use")

// postmaster is a running postgres server process, started directly rather
// than through pg_ctl: the process handle tells at once when it dies, and
// readiness is polled every few milliseconds instead of pg_ctl's 100.
type postmaster struct {
	proc    *os.Process
	exited  chan struct{} // closed once the process has exited
	waitErr error         // how it exited; read only after exited is closed
}

// startPostmaster starts postgres on dataDir with args appended to the
// command line, its output appended to logPath, and waits until it accepts
// connections.
func startPostmaster(ctx context.Context, u serverUser, binDir, dataDir, logPath string, args []string) (*postmaster, error) {
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	logStart, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}

	cmd := u.command(filepath.Dir(dataDir), filepath.Join(binDir, "postgres"), append([]string{"-D", dataDir}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Should the test process die without stopping the server (a test
	// timeout, a kill), the kernel asks the postmaster for an immediate
	// shutdown. The sweep of stale directories removes its files later.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	pm := &postmaster{proc: cmd.Process, exited: make(chan struct{})}
	go func() {
		pm.waitErr = cmd.Wait()
		close(pm.exited)
	}()

	pidFile := filepath.Join(dataDir, "postmaster.pid")
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(pidFile, pm.proc.Pid) {
			return pm, nil
		}
		select {
		case <-pm.exited:
			out := readFrom(logPath, logStart)
			if strings.Contains(out, "Address already in use") {
				return nil, errPortInUse
			}
			return nil, fmt.Errorf("postgres exited while starting (%v): %s", pm.waitErr, strings.TrimSpace(out))
		case <-ctx.Done():
			_ = pm.stop(syscall.SIGQUIT, 10*time.Second)
			return nil, fmt.Errorf("waiting for postgres to start: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// ready tells whether postmaster.pid, written by process pid, says the
// server accepts connections (its 8th line, as pg_ctl reads it).
func ready(pidFile string, pid int) bool {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	return len(lines) >= 8 && lines[0] == strconv.Itoa(pid) && strings.TrimSpace(lines[7]) == "ready"
}

// stop asks the postmaster to shut down with sig (SIGINT: fast, SIGQUIT:
// immediate) and waits for it; after timeout it escalates to SIGKILL.
func (pm *postmaster) stop(sig syscall.Signal, timeout time.Duration) error {
	select {
	case <-pm.exited:
		return nil
	default:
	}
	if err := pm.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal postgres: %w", err)
	}
	select {
	case <-pm.exited:
		return nil
	case <-time.After(timeout):
	}
	_ = pm.proc.Kill()
	<-pm.exited
	return fmt.Errorf("postgres did not shut down within %s; killed it", timeout)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// readFrom returns the end of a file from offset on; errors yield "".
func readFrom(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || offset > int64(len(b)) {
		return ""
	}
	return string(bytes.TrimSpace(b[offset:]))
}
