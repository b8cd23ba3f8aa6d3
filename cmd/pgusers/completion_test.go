package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

const twoServers = `version: 1
defaults: {user: admin, auth: password}
servers:
  - {name: orders-prod, host: orders-prod.example.com, principals: []}
  - {name: orders-dev, host: orders-dev.example.com}
  - {name: reporting, host: reporting.example.com}
`

// complete asks pgusers for completions as a shell script does, and
// returns the candidates (without descriptions) and the directive.
func complete(t *testing.T, args ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	r := pgusers(t, env{}, append([]string{cobra.ShellCompNoDescRequestCmd}, args...)...)
	wantCode(t, r, exitOK)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("no directive line in %q", r.stdout)
	}
	var d int
	for _, c := range last[1:] {
		d = d*10 + int(c-'0')
	}
	var out []string
	for _, l := range lines[:len(lines)-1] {
		if l != "" {
			out = append(out, l)
		}
	}
	return out, cobra.ShellCompDirective(d)
}

func TestCompletionCandidates(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "servers.yaml", twoServers)
	tests := []struct {
		args      []string
		want      []string
		directive cobra.ShellCompDirective
	}{
		{[]string{""}, []string{"access", "apply", "completion", "export", "help", "plan", "servers", "validate", "version"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"pl"}, []string{"plan"}, cobra.ShellCompDirectiveNoFileComp},
		// --server: the servers of the files given so far, less those given.
		{[]string{"plan", "-f", file, "--server", ""}, []string{"orders-prod", "orders-dev", "reporting"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"apply", "--file", file, "--server", "ord"}, []string{"orders-prod", "orders-dev"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"plan", "-f", file, "--server", "reporting", "--server", ""}, []string{"orders-prod", "orders-dev"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"export", "-f", dir, "--server", "rep"}, []string{"reporting"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"plan", "-f", filepath.Join(dir, "nope.yaml"), "--server", ""}, nil, cobra.ShellCompDirectiveNoFileComp},
		// Values of the choice flags.
		{[]string{"plan", "--output", ""}, []string{"text", "json", "markdown"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"apply", "-o", ""}, []string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"plan", "--log-level", ""}, []string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"export", "--log-format", ""}, []string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"version", "--output", "j"}, []string{"json"}, cobra.ShellCompDirectiveNoFileComp},
		// -f: YAML files and directories, filtered by the shell.
		{[]string{"plan", "-f", ""}, []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"validate", "--file", ""}, []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt},
		// A saved plan is any file; plan takes no argument.
		{[]string{"apply", ""}, nil, cobra.ShellCompDirectiveDefault},
		{[]string{"plan", ""}, nil, cobra.ShellCompDirectiveNoFileComp},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, directive := complete(t, tc.args...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
			if directive != tc.directive {
				t.Errorf("directive %d, want %d", directive, tc.directive)
			}
		})
	}

	// Without -f, the servers of pgusers.yaml in the working directory.
	t.Chdir(dir)
	writeFile(t, dir, "pgusers.yaml", strings.ReplaceAll(twoServers, "orders", "billing"))
	got, _ := complete(t, "plan", "--server", "")
	if diff := cmp.Diff([]string{"billing-prod", "billing-dev", "reporting"}, got); diff != "" {
		t.Errorf("servers of pgusers.yaml (-want +got):\n%s", diff)
	}
}

// completionScript writes the completion script for shell to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	r := pgusers(t, env{}, "completion", shell)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "__complete") {
		t.Fatalf("the %s script does not call pgusers __complete", shell)
	}
	return writeFile(t, t.TempDir(), "pgusers."+shell, r.stdout)
}

// The scripts for bash and zsh load in their shells, and bash completes
// --server from the files on the command line through the script, with
// the test binary as pgusers. zsh is tested where it is installed, and
// must be in CI.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"fish", "powershell"} {
		completionScript(t, shell)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash: %v (the completion test needs bash)", err)
	}
	script := completionScript(t, "bash")
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	out, err := exec.Command(bash, "--norc", "--noprofile", "-c", `source "$1" && complete -p pgusers`, "bash", script).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "__start_pgusers") {
		t.Fatalf("sourcing the bash script: %v\n%s", err, out)
	}

	// Complete "pgusers plan -f FILE --server <TAB>" as bash would. The
	// bash-completion package may not be installed: its word splitter,
	// which the script calls, is stood in for.
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(bin, "pgusers")); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, t.TempDir(), "servers.yaml", twoServers)
	const driver = `
_get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
source "$1"
COMP_WORDS=(pgusers plan -f "$2" --server "$3")
COMP_CWORD=5
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
__start_pgusers
printf '%s\n' "${COMPREPLY[@]}"
`
	run := func(word string) []string {
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", driver, "bash", script, file, word)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), runAsPgusers+"=1")
		var stderr strings.Builder
		cmd.Stderr = &stderr // compopt says it runs outside a completion
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash completion: %v\n%s%s", err, out, stderr.String())
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				got = append(got, l)
			}
		}
		return got
	}
	got := run("")
	slices.Sort(got)
	if diff := cmp.Diff([]string{"orders-dev", "orders-prod", "reporting"}, got); diff != "" {
		t.Errorf("bash completes --server with (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"reporting"}, run("rep")); diff != "" {
		t.Errorf("bash completes --server rep with (-want +got):\n%s", diff)
	}

	zsh, err := exec.LookPath("zsh")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("zsh is not installed: CI must load the zsh script (.ci/run installs zsh)")
		}
		t.Log("zsh is not installed: the zsh script is generated but not loaded in zsh")
		completionScript(t, "zsh")
		return
	}
	script = completionScript(t, "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Errorf("zsh -n: %v\n%s", err, out)
	}
	// Loaded as a user's .zshrc would: compinit, then the script, which
	// registers its function for pgusers.
	out, err = exec.Command(zsh, "-f", "-c", `autoload -U compinit && compinit -u && source "$1" && print -r -- ${_comps[pgusers]}`, "zsh", script).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "_pgusers") {
		t.Errorf("loading the zsh script: %v\n%s", err, out)
	}
}
