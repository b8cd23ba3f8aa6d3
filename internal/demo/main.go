// Command demo runs pgusers' main job on a throwaway local PostgreSQL with
// the pgaadauth emulation: plan, apply, plan in sync, drift by hand, one
// apply repairs it. `make demo` runs it; it needs PostgreSQL's server
// binaries, no Azure.
//
//	go run ./internal/demo PGUSERS_BINARY DESIRED_STATE_FILE
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"

	"github.com/pgusers/pgusers/internal/demo/world"
	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/spec"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: demo PGUSERS_BINARY DESIRED_STATE_FILE")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := demo(ctx, os.Args[1], os.Args[2])
	stop()
	if serr := pgtest.Shutdown(); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func demo(ctx context.Context, bin, file string) error {
	d, err := spec.Load(context.Background(), []string{file})
	if err != nil {
		return err
	}
	if len(d.Servers) != 1 {
		return fmt.Errorf("%s: the demo wants exactly one server", file)
	}
	s := d.Servers[0]

	say("Starting a throwaway PostgreSQL on %s:%d with the pgaadauth emulation...", s.Host, s.Port)
	c, err := pgtest.Start(ctx, pgtest.Options{Port: s.Port})
	if err != nil {
		return err
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop the throwaway PostgreSQL:", err)
		}
	}()
	if err := world.Build(ctx, c); err != nil {
		return err
	}
	env := append(os.Environ(), s.PasswordEnv+"="+c.AdminPassword)

	steps := []struct {
		title string
		args  []string
		want  int
	}{
		{"What would change (exit 2: changes)", []string{"plan", "-f", file, "--detailed-exitcode"}, 2},
		{"The exact SQL apply would run, running none of it", []string{"apply", "-f", file, "--dry-run"}, 0},
		{"Apply", []string{"apply", "-f", file, "--auto-approve"}, 0},
		{"Plan again: in sync (exit 0)", []string{"plan", "-f", file, "--detailed-exitcode"}, 0},
	}
	for _, st := range steps {
		if err := step(ctx, bin, env, st.title, st.args, st.want); err != nil {
			return err
		}
	}

	say(world.DriftByHandSays)
	if err := world.DriftByHand(ctx, c); err != nil {
		return err
	}
	say(world.NewTableSays)
	if err := world.NewTable(ctx, c); err != nil {
		return err
	}
	for _, st := range []struct {
		title string
		args  []string
		want  int
	}{
		{"A scheduled drift check notices (exit 2)", []string{"plan", "-f", file, "--detailed-exitcode", "--output", "json"}, 2},
		{"One apply repairs it", []string{"apply", "-f", file, "--auto-approve"}, 0},
		{"In sync again (exit 0)", []string{"plan", "-f", file, "--detailed-exitcode"}, 0},
	} {
		if err := step(ctx, bin, env, st.title, st.args, st.want); err != nil {
			return err
		}
	}
	say("Demo complete: the throwaway PostgreSQL is stopped and removed.")
	return nil
}

func step(ctx context.Context, bin string, env []string, title string, args []string, want int) error {
	say("%s\n$ pgusers %s", title, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err := cmd.Run()
	got := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		got = exit.ExitCode()
	} else if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("pgusers %s exited %d, want %d", strings.Join(args, " "), got, want)
	}
	fmt.Printf("(exit %d)\n", got)
	return nil
}

func say(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}
