// Package examples_test checks the files people copy: the GitHub Actions
// workflows (with actionlint, as a library), the composite action at the
// repository's root (its install and run scripts, executed against a fake
// release), the Azure Pipelines and Kubernetes examples, the container and
// release definitions, and every desired-state file under examples/ (with
// pgusers' own loader). Nothing here needs a network, Docker or Azure.
package examples_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"

	"github.com/pgusers/pgusers/pkg/spec"
)

// root is the repository's root, from this package's directory.
const root = ".."

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// yamlDocs decodes every document of a YAML file into generic values.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(read(t, path)))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if err == io.EOF {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

func yamlDoc(t *testing.T, path string) map[string]any {
	t.Helper()
	docs := yamlDocs(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: %d YAML documents, want 1", path, len(docs))
	}
	return docs[0]
}

// get walks a decoded YAML value: keys for maps, ints for lists. It
// returns nil where the path does not exist.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...any) []any {
	l, _ := get(v, path...).([]any)
	return l
}

func mapping(v any, path ...any) map[string]any {
	m, _ := get(v, path...).(map[string]any)
	return m
}

// workflowFiles are the example workflows and the repository's own, if any.
func workflowFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{
		"github-actions/*.yml", "github-actions/*.yaml",
		root + "/.github/workflows/*.yml", root + "/.github/workflows/*.yaml",
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 3 {
		t.Fatalf("found %d workflow files, want at least plan.yml, apply.yml and drift.yml: %v", len(files), files)
	}
	return files
}

var (
	usesRE = regexp.MustCompile(`^(\s*-?\s*uses:\s*)(\S+)(.*)$`)
	// owner/repo[/path]@<full commit sha> # vX.Y.Z
	shaPinRE = regexp.MustCompile(`^([\w.-]+/[\w.-]+(?:/[\w./-]+)?)@[0-9a-f]{40}$`)
	tagRE    = regexp.MustCompile(`^#\s*(v(\d+)\.\d+\.\d+)$`)
	// The action of this repository, by exact release tag.
	ownRE = regexp.MustCompile(`^pgusers/pgusers@v\d+\.\d+\.\d+$`)
)

// forLint rewrites a workflow for actionlint without moving any line:
// this repository's action becomes the local action (./, the action.yml
// beside .github in the lint project), so that its inputs and outputs are
// checked against action.yml; and a SHA-pinned action becomes its major
// version (from the "# vX.Y.Z" comment), whose inputs and outputs actionlint
// knows. It also reports every `uses:` that is not pinned.
func forLint(src string) (string, []string) {
	var problems []string
	lines := strings.Split(src, "\n")
	for i, line := range lines {
		m := usesRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		prefix, ref, rest := m[1], m[2], strings.TrimSpace(m[3])
		switch {
		case strings.HasPrefix(ref, "./"), strings.HasPrefix(ref, "docker://"):
		case ownRE.MatchString(ref):
			lines[i] = prefix + "./" + " " + rest
		case shaPinRE.MatchString(ref):
			tag := tagRE.FindStringSubmatch(rest)
			if tag == nil {
				problems = append(problems, fmt.Sprintf("line %d: %s is pinned to a commit without a `# vX.Y.Z` comment saying which release", i+1, ref))
				continue
			}
			name := shaPinRE.FindStringSubmatch(ref)[1]
			lines[i] = prefix + name + "@v" + tag[2] + " " + rest
		default:
			problems = append(problems, fmt.Sprintf("line %d: %s is not pinned: use owner/repo@<full commit sha> # vX.Y.Z (or pgusers/pgusers@vX.Y.Z)", i+1, ref))
		}
	}
	return strings.Join(lines, "\n"), problems
}

// TestWorkflowsLint runs actionlint on every workflow. shellcheck and
// pyflakes stay off so that the result does not depend on what the machine
// has installed; PGUSERS_SHELLCHECK=shellcheck turns shellcheck on.
func TestWorkflowsLint(t *testing.T) {
	project := t.TempDir()
	dir := filepath.Join(project, ".github", "workflows")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// actionlint looks for a repository (.git) around .github.
	if err := os.Mkdir(filepath.Join(project, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "action.yml"), read(t, filepath.Join(root, "action.yml")), 0o644); err != nil {
		t.Fatal(err)
	}
	var paths []string
	original := map[string]string{}
	for i, f := range workflowFiles(t) {
		src, problems := forLint(string(read(t, f)))
		for _, p := range problems {
			t.Errorf("%s: %s", f, p)
		}
		p := filepath.Join(dir, fmt.Sprintf("%02d-%s", i, filepath.Base(f)))
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		original[filepath.Base(p)] = f
	}
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{
		Shellcheck: os.Getenv("PGUSERS_SHELLCHECK"),
		Pyflakes:   "",
		WorkingDir: project,
		Color:      actionlint.ColorOptionKindNever,
	})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := actionlint.NewProject(project)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := linter.LintFiles(paths, proj)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		f := original[filepath.Base(e.Filepath)] // actionlint reports it relative to the project
		if f == "" {
			f = e.Filepath
		}
		t.Errorf("%s:%d:%d: %s [%s]", f, e.Line, e.Column, e.Message, e.Kind)
	}
}

// TestWorkflowsAreLeastPrivilege checks what actionlint does not: nothing
// is granted at the top, every job says what it needs and has a timeout, no
// job reads a secret, and no workflow runs on pull_request_target.
func TestWorkflowsAreLeastPrivilege(t *testing.T) {
	for _, f := range workflowFiles(t) {
		wf := yamlDoc(t, f)
		if p, ok := wf["permissions"]; !ok || len(mapping(p)) != 0 {
			t.Errorf("%s: top-level permissions must be {} (jobs ask for their own), got %v", f, p)
		}
		if get(wf, "on", "pull_request_target") != nil {
			t.Errorf("%s: pull_request_target runs with the base repository's rights on a pull request's code", f)
		}
		if strings.Contains(string(read(t, f)), "secrets.") {
			t.Errorf("%s: reads a secret; sign in with OIDC (azure/login with client-id and tenant-id from vars)", f)
		}
		for name, job := range mapping(wf, "jobs") {
			if get(job, "timeout-minutes") == nil {
				t.Errorf("%s: job %s has no timeout-minutes", f, name)
			}
			if get(job, "permissions") == nil {
				t.Errorf("%s: job %s does not say which permissions it needs", f, name)
			}
			for perm, v := range mapping(job, "permissions") {
				allowed := map[string]bool{"contents": true, "id-token": true, "pull-requests": true, "issues": true}
				if !allowed[perm] {
					t.Errorf("%s: job %s asks for %s: %v", f, name, perm, v)
				}
			}
			for i, step := range list(job, "steps") {
				if strings.HasPrefix(str(step, "uses"), "azure/login@") {
					if !strings.HasPrefix(str(step, "with", "client-id"), "${{ vars.") {
						t.Errorf("%s: job %s step %d: azure/login's client-id must come from vars", f, name, i)
					}
					if str(step, "with", "client-secret") != "" || str(step, "with", "creds") != "" {
						t.Errorf("%s: job %s step %d: azure/login with a secret; use OIDC", f, name, i)
					}
				}
				if strings.HasPrefix(str(step, "uses"), "actions/checkout@") && get(step, "with", "persist-credentials") != false {
					t.Errorf("%s: job %s step %d: checkout must not persist the token (persist-credentials: false)", f, name, i)
				}
			}
		}
	}
}

// step finds the first step of a job using an action with the given prefix.
func step(job any, usesPrefix string) any {
	for _, s := range list(job, "steps") {
		if strings.HasPrefix(str(s, "uses"), usesPrefix) {
			return s
		}
	}
	return nil
}

func TestPlanWorkflow(t *testing.T) {
	wf := yamlDoc(t, "github-actions/plan.yml")
	if get(wf, "on", "pull_request") == nil {
		t.Error("plan.yml must run on pull_request")
	}
	job := get(wf, "jobs", "plan")
	if str(job, "environment") != "plan" {
		t.Error("the plan job must run in the environment plan (its own federated credential subject)")
	}
	if str(job, "permissions", "id-token") != "write" || str(job, "permissions", "pull-requests") != "write" || str(job, "permissions", "contents") != "read" {
		t.Errorf("plan job permissions: %v", get(job, "permissions"))
	}
	if !strings.Contains(str(step(job, "azure/login@"), "with", "client-id"), "PGUSERS_PLAN_CLIENT_ID") {
		t.Error("the pull request plan must sign in as the read-only identity")
	}
	cmd := str(step(job, "pgusers/pgusers@"), "with", "command")
	for _, want := range []string{"plan ", "sign-in/plan.yaml", "--detailed-exitcode", "--output markdown", "--out plan.json"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("plan command %q lacks %q", cmd, want)
		}
	}
	upload := step(job, "actions/upload-artifact@")
	if !strings.Contains(str(upload, "with", "name"), "github.event.pull_request.head.sha") {
		t.Error("the plan artifact must be named by the pull request's head commit")
	}
	if s := string(read(t, "github-actions/plan.yml")); !strings.Contains(s, "<!-- pgusers-plan -->") || !strings.Contains(s, "--method PATCH") {
		t.Error("plan.yml must update one marked comment, not add one per push")
	}
}

func TestApplyWorkflow(t *testing.T) {
	wf := yamlDoc(t, "github-actions/apply.yml")
	if b := list(wf, "on", "push", "branches"); len(b) != 1 || b[0] != "main" {
		t.Errorf("apply.yml must run on push to main, got %v", b)
	}
	if get(wf, "concurrency", "cancel-in-progress") != false || str(wf, "concurrency", "group") == "" {
		t.Errorf("apply.yml needs a concurrency group that never cancels a run in progress, got %v", get(wf, "concurrency"))
	}
	plan, apply := get(wf, "jobs", "plan"), get(wf, "jobs", "apply")
	if str(apply, "needs") != "plan" || str(apply, "environment") != "production" {
		t.Errorf("the apply job must need plan and run in the protected environment production: needs %v, environment %v", get(apply, "needs"), get(apply, "environment"))
	}
	if str(plan, "environment") == "production" {
		t.Error("the plan job must not wait for the approval: the reviewers approve its plan")
	}
	up, down := step(plan, "actions/upload-artifact@"), step(apply, "actions/download-artifact@")
	if name := str(up, "with", "name"); name == "" || name != str(down, "with", "name") || !strings.Contains(name, "github.sha") {
		t.Errorf("the apply job must download the plan that the plan job uploaded for this commit: %q vs %q", name, str(down, "with", "name"))
	}
	planCmd := str(step(plan, "pgusers/pgusers@"), "with", "command")
	if !strings.Contains(planCmd, "--out plan.json") || !strings.Contains(planCmd, "sign-in/apply.yaml") {
		t.Errorf("the plan job must save the plan, signed in as the administrator: %q", planCmd)
	}
	applyCmd := str(step(apply, "pgusers/pgusers@"), "with", "command")
	if !regexp.MustCompile(`^apply (\$\{\{ runner\.temp \}\}/)?\S*plan\.json --auto-approve$`).MatchString(applyCmd) {
		t.Errorf("the apply job must apply the saved plan and nothing else: %q", applyCmd)
	}
}

func TestDriftWorkflow(t *testing.T) {
	wf := yamlDoc(t, "github-actions/drift.yml")
	if list(wf, "on", "schedule") == nil {
		t.Error("drift.yml must run on a schedule")
	}
	if _, ok := mapping(wf, "on")["workflow_dispatch"]; !ok {
		t.Error("drift.yml must be runnable by hand (workflow_dispatch)")
	}
	job := get(wf, "jobs", "drift")
	if str(job, "permissions", "issues") != "write" {
		t.Error("the drift job needs issues: write for the drift issue")
	}
	cmd := str(step(job, "pgusers/pgusers@"), "with", "command")
	for _, want := range []string{"--detailed-exitcode", "--output markdown", "--metrics-file ", "sign-in/plan.yaml"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("drift command %q lacks %q", cmd, want)
		}
	}
	s := string(read(t, "github-actions/drift.yml"))
	for _, want := range []string{"label=pgusers-drift", "gh issue create", "gh issue edit", "gh issue close"} {
		if !strings.Contains(s, want) {
			t.Errorf("drift.yml lacks %q", want)
		}
	}
}

// The sharded drift check runs every shard of one N, none cancelling the
// others, and fails a shard with drift or an error.
func TestShardedDriftWorkflow(t *testing.T) {
	wf := yamlDoc(t, "github-actions/drift-sharded.yml")
	job := get(wf, "jobs", "drift")
	shards := list(job, "strategy", "matrix", "shard")
	if len(shards) < 2 {
		t.Fatalf("the matrix must list the shards, got %v", shards)
	}
	if ff, ok := get(job, "strategy", "fail-fast").(bool); !ok || ff {
		t.Error("fail-fast must be false: one shard's drift must not cancel the others")
	}
	cmd := str(step(job, "pgusers/pgusers@"), "with", "command")
	want := fmt.Sprintf("--shard ${{ matrix.shard }}/%d", len(shards))
	for i, s := range shards {
		if fmt.Sprint(s) != fmt.Sprint(i) {
			t.Errorf("shard %d of the matrix is %v: K counts 0 to N-1", i, s)
		}
	}
	for _, w := range []string{want, "--detailed-exitcode"} {
		if !strings.Contains(cmd, w) {
			t.Errorf("the sharded drift command %q lacks %q", cmd, w)
		}
	}
	s := string(read(t, "github-actions/drift-sharded.yml"))
	if !strings.Contains(s, "2) echo") || !strings.Contains(s, "fail-on-error: false") {
		t.Error("a shard with drift (exit code 2) must fail its job")
	}
}

func TestActionMetadata(t *testing.T) {
	path := filepath.Join(root, "action.yml")
	a := yamlDoc(t, path)
	if str(a, "runs", "using") != "composite" {
		t.Fatalf("action.yml: runs.using is %q, want composite", str(a, "runs", "using"))
	}
	if v := str(a, "inputs", "version", "default"); !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("action.yml: the version input must default to a concrete release tag, got %q", v)
	}
	for _, in := range []string{"version", "command", "working-directory", "summary"} {
		if get(a, "inputs", in) == nil {
			t.Errorf("action.yml: no input %s", in)
		}
	}
	if get(a, "outputs", "exit-code", "value") == nil {
		t.Error("action.yml: no output exit-code")
	}
	inputRef := regexp.MustCompile(`\$\{\{\s*inputs\.`)
	for i, s := range list(a, "runs", "steps") {
		if run := str(s, "run"); run != "" {
			if str(s, "shell") == "" {
				t.Errorf("action.yml step %d: a composite run step needs a shell", i)
			}
			// Inputs reach scripts through env only: pasted into a script, a
			// value would be shell code.
			if inputRef.MatchString(run) || strings.Contains(run, "${{ steps.") {
				t.Errorf("action.yml step %d (%s) pastes an expression into its script; pass it through env", i, str(s, "name"))
			}
		}
	}
	_, problems := forLint(string(read(t, path)))
	for _, p := range problems {
		t.Errorf("action.yml: %s", p)
	}
}

// actionStep returns the env and the script of the action's step with the
// given name.
func actionStep(t *testing.T, name string) string {
	t.Helper()
	for _, s := range list(yamlDoc(t, filepath.Join(root, "action.yml")), "runs", "steps") {
		if str(s, "name") == name {
			return str(s, "run")
		}
	}
	t.Fatalf("action.yml has no step %q", name)
	return ""
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the action's scripts (on Debian it comes with the base system or apt-get install %s)", tool, tool)
		}
	}
}

// runScript runs a script as the action would, with bash, in dir.
func runScript(t *testing.T, script, dir string, env map[string]string) (string, error) {
	t.Helper()
	// How GitHub runs a `shell: bash` step.
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func targz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestActionInstallsVerifiedRelease runs the action's install script
// against a release served from files (curl reads file:// URLs), with the
// archive and checksum names GoReleaser gives them.
func TestActionInstallsVerifiedRelease(t *testing.T) {
	needTools(t, "bash", "curl", "tar", "awk", "sha256sum")
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("the install test runs on linux/amd64 and linux/arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	runnerArch := map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	script := actionStep(t, "Install pgusers from the release (checksum verified)")

	const version, number = "v9.8.7", "9.8.7"
	archiveName := fmt.Sprintf("pgusers_%s_linux_%s.tar.gz", number, runtime.GOARCH)
	archive := targz(t, map[string]string{"pgusers": "#!/bin/sh\necho fake pgusers\n", "README.md": "readme\n"})
	sum := sha256.Sum256(archive)

	for _, tc := range []struct {
		name, sums string
		ok         bool
	}{
		{"good", fmt.Sprintf("%064x  pgusers_%s_darwin_arm64.tar.gz\n%s  %s\n", 1, number, hex.EncodeToString(sum[:]), archiveName), true},
		{"tampered", fmt.Sprintf("%064x  %s\n", 7, archiveName), false},
		{"missing", fmt.Sprintf("%064x  pgusers_%s_darwin_arm64.tar.gz\n", 1, number), false},
		{"twice", fmt.Sprintf("%s  %s\n%s  %s\n", hex.EncodeToString(sum[:]), archiveName, hex.EncodeToString(sum[:]), archiveName), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			rel := filepath.Join(tmp, "server", "releases", version)
			runnerTemp := filepath.Join(tmp, "runner")
			for _, d := range []string{rel, runnerTemp} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(rel, archiveName), archive, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(rel, "pgusers_"+number+"_checksums.txt"), []byte(tc.sums), 0o644); err != nil {
				t.Fatal(err)
			}
			ghPath := filepath.Join(tmp, "github_path")
			out, err := runScript(t, script, tmp, map[string]string{
				"VERSION": version, "DOWNLOAD_URL": "file://" + filepath.Join(tmp, "server", "releases") + "/",
				"RUNNER_OS": "Linux", "RUNNER_ARCH": runnerArch,
				"RUNNER_TEMP": runnerTemp, "GITHUB_PATH": ghPath,
			})
			bin := filepath.Join(runnerTemp, "pgusers-"+version, "bin", "pgusers")
			_, statErr := os.Stat(bin)
			if !tc.ok {
				if err == nil || statErr == nil {
					t.Fatalf("the install succeeded (binary unpacked: %v) with a bad checksums file:\n%s", statErr == nil, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("install failed: %v\n%s", err, out)
			}
			if statErr != nil {
				t.Fatalf("no binary at %s:\n%s", bin, out)
			}
			if p := strings.TrimSpace(string(read(t, ghPath))); p != filepath.Dir(bin) {
				t.Errorf("GITHUB_PATH got %q, want %q", p, filepath.Dir(bin))
			}
		})
	}
}

// TestActionRunsCommand runs the action's run script with a stand-in
// pgusers: the command is split on white space and never evaluated, the
// exit code and the output file are the step's outputs, and the step itself
// succeeds whatever pgusers returned (the next step decides).
func TestActionRunsCommand(t *testing.T) {
	needTools(t, "bash", "tee", "mktemp")
	script := actionStep(t, "Run pgusers")
	for _, code := range []int{0, 1, 2} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			tmp := t.TempDir()
			bin := filepath.Join(tmp, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			fake := "#!/bin/sh\nprintf '## plan\\n'\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\nexit " + fmt.Sprint(code) + "\n"
			if err := os.WriteFile(filepath.Join(bin, "pgusers"), []byte(fake), 0o755); err != nil {
				t.Fatal(err)
			}
			outputs := filepath.Join(tmp, "github_output")
			marker := filepath.Join(tmp, "injected")
			out, err := runScript(t, script, tmp, map[string]string{
				"PATH":            bin + string(os.PathListSeparator) + os.Getenv("PATH"),
				"PGUSERS_COMMAND": "plan -f pgusers/\n  --detailed-exitcode $(touch " + marker + ") *",
				"RUNNER_TEMP":     tmp, "GITHUB_OUTPUT": outputs,
			})
			if err != nil {
				t.Fatalf("the run step failed: %v\n%s", err, out)
			}
			got := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(string(read(t, outputs))), "\n") {
				k, v, _ := strings.Cut(line, "=")
				got[k] = v
			}
			if got["exit-code"] != fmt.Sprint(code) {
				t.Errorf("exit-code output %q, want %d", got["exit-code"], code)
			}
			want := "## plan\n[plan]\n[-f]\n[pgusers/]\n[--detailed-exitcode]\n[$(touch]\n[" + marker + ")]\n[*]\n"
			if b := string(read(t, got["output-file"])); b != want {
				t.Errorf("output file:\n%s\nwant:\n%s", b, want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the command was evaluated by the shell")
			}
		})
	}
}

// TestDesiredStateFiles loads every desired-state file under examples/
// with pgusers' own loader, as the workflows and the CronJob name them.
func TestDesiredStateFiles(t *testing.T) {
	cm := t.TempDir()
	for _, doc := range yamlDocs(t, "kubernetes/configmap.yaml") {
		for name, body := range mapping(doc, "data") {
			if err := os.WriteFile(filepath.Join(cm, name), []byte(body.(string)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		paths []string
		// reader is the read-only principal that must be declared on every
		// server (prune would drop it otherwise), "" for none.
		reader string
	}{
		{"examples/pgusers.yaml", []string{"pgusers.yaml"}, ""},
		{"examples/local", []string{"local/pgusers.yaml"}, ""},
		{"github-actions plan", []string{"github-actions/pgusers", "github-actions/pgusers/sign-in/plan.yaml"}, "pgusers-plan"},
		{"github-actions apply", []string{"github-actions/pgusers", "github-actions/pgusers/sign-in/apply.yaml"}, "pgusers-plan"},
		{"kubernetes configmap", []string{cm}, "pgusers-plan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := spec.Load(context.Background(), tc.paths)
			if err != nil {
				t.Fatalf("%v", err)
			}
			if len(d.Servers) == 0 {
				t.Fatal("no servers")
			}
			for _, s := range d.Servers {
				if tc.reader == "" {
					continue
				}
				if !slices.ContainsFunc(s.Principals, func(p spec.Principal) bool { return p.Name == tc.reader && !p.Admin }) {
					t.Errorf("server %s does not declare the read-only principal %s", s.Name, tc.reader)
				}
			}
		})
	}
	// Who signs in: the read-only principal for plans on pull requests and
	// drift checks, the administrators' group for the plan that is applied.
	for file, user := range map[string]string{
		"github-actions/pgusers/sign-in/plan.yaml":  "pgusers-plan",
		"github-actions/pgusers/sign-in/apply.yaml": "pg-admins",
		filepath.Join(cm, "sign-in.yaml"):           "pgusers-plan",
	} {
		if got := str(yamlDoc(t, file), "defaults", "user"); got != user {
			t.Errorf("%s: defaults.user is %q, want %q", file, got, user)
		}
	}
}

// TestKubernetesManifests checks the drift CronJobs: workload identity,
// non-root and read-only, limited, and sharded as pgusers expects.
func TestKubernetesManifests(t *testing.T) {
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string][]map[string]any{}
	for _, f := range files {
		for _, doc := range yamlDocs(t, f) {
			byKind[str(doc, "kind")] = append(byKind[str(doc, "kind")], doc)
		}
	}
	accounts := map[string]bool{}
	for _, sa := range byKind["ServiceAccount"] {
		if str(sa, "metadata", "annotations", "azure.workload.identity/client-id") == "" {
			t.Errorf("ServiceAccount %s has no azure.workload.identity/client-id annotation", str(sa, "metadata", "name"))
		}
		accounts[str(sa, "metadata", "name")] = true
	}
	configMaps := map[string]bool{}
	for _, cm := range byKind["ConfigMap"] {
		configMaps[str(cm, "metadata", "name")] = true
	}
	if len(byKind["CronJob"]) < 2 {
		t.Fatalf("want the drift CronJob and the sharded one, found %d CronJobs", len(byKind["CronJob"]))
	}
	for _, cj := range byKind["CronJob"] {
		name := str(cj, "metadata", "name")
		job := get(cj, "spec", "jobTemplate", "spec")
		pod := get(job, "template")
		if str(pod, "metadata", "labels", "azure.workload.identity/use") != "true" {
			t.Errorf("%s: the pod lacks the label azure.workload.identity/use: \"true\"", name)
		}
		if sa := str(pod, "spec", "serviceAccountName"); !accounts[sa] {
			t.Errorf("%s: serviceAccountName %q is not a ServiceAccount of the example", name, sa)
		}
		if get(pod, "spec", "securityContext", "runAsNonRoot") != true {
			t.Errorf("%s: the pod must set runAsNonRoot: true", name)
		}
		if u, _ := get(pod, "spec", "securityContext", "runAsUser").(int); u == 0 {
			t.Errorf("%s: the pod must run as a non-zero runAsUser", name)
		}
		if get(job, "podFailurePolicy") != nil && str(pod, "spec", "restartPolicy") != "Never" {
			t.Errorf("%s: podFailurePolicy needs restartPolicy: Never", name)
		}
		if str(cj, "spec", "concurrencyPolicy") != "Forbid" {
			t.Errorf("%s: two drift checks must not overlap (concurrencyPolicy: Forbid)", name)
		}
		for _, v := range list(pod, "spec", "volumes") {
			if cmName := str(v, "configMap", "name"); cmName != "" && !configMaps[cmName] {
				t.Errorf("%s: volume from ConfigMap %q, which the example does not define", name, cmName)
			}
		}
		containers := list(pod, "spec", "containers")
		if len(containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", name, len(containers))
		}
		c := containers[0]
		sc := get(c, "securityContext")
		if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false ||
			!slices.Equal(list(sc, "capabilities", "drop"), []any{"ALL"}) {
			t.Errorf("%s: the container must have a read-only root, no privilege escalation and drop ALL capabilities: %v", name, sc)
		}
		if get(c, "resources", "limits", "memory") == nil || get(c, "resources", "limits", "cpu") == nil || get(c, "resources", "requests") == nil {
			t.Errorf("%s: the container needs resource requests and limits", name)
		}
		if !regexp.MustCompile(`:v\d+\.\d+\.\d+`).MatchString(str(c, "image")) {
			t.Errorf("%s: the image must be a pinned release, got %q", name, str(c, "image"))
		}
		var args []string
		for _, a := range list(c, "args") {
			args = append(args, fmt.Sprint(a))
		}
		if len(args) == 0 || args[0] != "plan" || !slices.Contains(args, "--detailed-exitcode") || !slices.Contains(args, "--metrics-file") {
			t.Errorf("%s: args must be a plan with --detailed-exitcode and --metrics-file: %v", name, args)
		}
		if str(job, "completionMode") == "Indexed" {
			i := slices.Index(args, "--shard")
			if i < 0 || i+1 >= len(args) {
				t.Fatalf("%s: an Indexed Job must pass --shard K/N: %v", name, args)
			}
			n := fmt.Sprint(get(job, "completions"))
			// K is 0-based: the completion index itself, 0..N-1.
			if want := "$(JOB_COMPLETION_INDEX)/" + n; args[i+1] != want {
				t.Errorf("%s: --shard %s, want %s", name, args[i+1], want)
			}
			if fmt.Sprint(get(job, "parallelism")) != n {
				t.Errorf("%s: parallelism %v differs from completions %s", name, get(job, "parallelism"), n)
			}
			defined := false
			for _, e := range list(c, "env") {
				defined = defined || str(e, "name") == "JOB_COMPLETION_INDEX"
			}
			if !defined {
				t.Errorf("%s: $(JOB_COMPLETION_INDEX) is expanded only from a variable declared in the container's env", name)
			}
		}
	}
	ns := byKind["Namespace"]
	if len(ns) != 1 || str(ns[0], "metadata", "labels", "pod-security.kubernetes.io/enforce") != "restricted" {
		t.Error("the namespace must enforce Pod Security restricted")
	}
}

// TestAzurePipelines checks the Azure DevOps example's shape: plan on pull
// requests with the read-only connection, and on main plan as the
// administrator, then apply the saved plan in a deployment job behind the
// environment's approval.
func TestAzurePipelines(t *testing.T) {
	p := yamlDoc(t, "azure-devops/azure-pipelines.yml")
	stages := map[string]any{}
	for _, s := range list(p, "stages") {
		stages[str(s, "stage")] = s
	}
	connections := func(v any) []string {
		var out []string
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if x["task"] == "AzureCLI@2" {
					out = append(out, str(x, "inputs", "azureSubscription"))
				}
				for _, y := range x {
					walk(y)
				}
			case []any:
				for _, y := range x {
					walk(y)
				}
			}
		}
		walk(v)
		return out
	}
	if c := connections(stages["PlanPullRequest"]); !slices.Equal(c, []string{"pgusers-plan"}) {
		t.Errorf("the pull request plan must use only the read-only connection, uses %v", c)
	}
	if c := connections(stages["Plan"]); !slices.Equal(c, []string{"pgusers-admin"}) {
		t.Errorf("the plan on main must sign in as the administrator (apply refuses another's plan), uses %v", c)
	}
	apply := stages["Apply"]
	if str(apply, "dependsOn") != "Plan" {
		t.Error("Apply must depend on Plan")
	}
	dep := get(apply, "jobs", 0)
	if str(dep, "deployment") == "" || str(dep, "environment") == "" {
		t.Errorf("Apply must be a deployment job on an environment (its approval check): %v", dep)
	}
	s := string(read(t, "azure-devops/azure-pipelines.yml"))
	if !strings.Contains(s, "pgusers apply \"$(Pipeline.Workspace)/pgusers-plan/plan.json\" --auto-approve") {
		t.Error("Apply must apply the plan file downloaded from this run")
	}
	for _, m := range regexp.MustCompile(`template:\s*(\S+)`).FindAllStringSubmatch(s, -1) {
		if _, err := os.Stat(filepath.Join("azure-devops", m[1])); err != nil {
			t.Errorf("template %s: %v", m[1], err)
		}
	}
}

// TestAllYAMLParses parses every YAML file under examples/ and the
// repository's release and action definitions.
func TestAllYAMLParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			yamlDocs(t, path)
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"action.yml", ".goreleaser.yaml"} {
		yamlDocs(t, filepath.Join(root, f))
	}
	if n < 10 {
		t.Errorf("parsed only %d YAML files under examples/", n)
	}
}
