package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The console examples of the documentation are tests, so that a message
// that changes fails here until the page says the new one.
//
// A console example is a fenced block whose info string starts with
// "console": each line "$ pgusers ARGS" is a command, run in-process, and
// the lines up to the next "$ " are what it prints, stderr and stdout as a
// terminal interleaves them (or stdout alone after "2>/dev/null"). A
// comment after the command ("  # ...") is for the reader, except that
// "exit N" in it is the exit code the command must end with (0 without).
// "fixture=NAME" after "console" names what the commands run against
// (docFixtures, or the files of testdata/docexamples/NAME); without it, an
// empty directory. Each example runs in a
// directory of its own, its working directory, so that the paths the page
// shows are the paths the command prints.
//
// Written here rather than with testscript: an example is a page's
// block, not a script file, and the commands run in-process with the same
// env as every other test of the command (a fake Azure, fake credentials),
// which testscript's subprocess commands would have to rebuild.
func TestDocExamples(t *testing.T) {
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "../../README.md")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, page := range pages {
		for _, ex := range consoleExamples(t, page) {
			n++
			ex.root = root
			t.Run(fmt.Sprintf("%s:%d", filepath.Base(page), ex.line), ex.run)
		}
	}
	if n < 9 {
		t.Errorf("found %d console examples in the documentation; the parser lost some", n)
	}
}

// docExample is one console block of a page.
type docExample struct {
	page     string
	line     int // of the opening fence
	fixture  string
	yaml     string // the page's last yaml block before this one
	root     string // the repository, absolute
	commands []docCommand
}

// docCommand is one "$ pgusers ..." line and what it prints.
type docCommand struct {
	line       int
	args       []string
	exit       int
	dropStderr bool
	want       string
}

var exitComment = regexp.MustCompile(`\bexit (\d+)\b`)

// consoleExamples reads the console blocks of page.
func consoleExamples(t *testing.T, page string) []*docExample {
	t.Helper()
	f, err := os.Open(page)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out      []*docExample
		fence    string // the open fence's info string; "" outside one
		inFence  bool
		body     []string
		lastYAML string
		ex       *docExample
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !inFence && strings.HasPrefix(line, "```"):
			inFence, fence, body = true, strings.TrimPrefix(line, "```"), nil
			if info := strings.Fields(fence); len(info) > 0 && info[0] == "console" {
				ex = &docExample{page: page, line: n, yaml: lastYAML}
				for _, opt := range info[1:] {
					name, ok := strings.CutPrefix(opt, "fixture=")
					if !ok {
						t.Fatalf("%s:%d: %q is not fixture=NAME", page, n, opt)
					}
					ex.fixture = name
				}
			}
		case inFence && strings.HasPrefix(line, "```"):
			if ex != nil {
				if len(ex.commands) == 0 {
					t.Fatalf("%s:%d: a console block without a $ command", page, ex.line)
				}
				out = append(out, ex)
			} else if strings.HasPrefix(fence, "yaml") {
				lastYAML = strings.Join(body, "\n") + "\n"
			}
			inFence, ex = false, nil
		case ex != nil && strings.HasPrefix(line, "$ "):
			ex.commands = append(ex.commands, parseDocCommand(t, page, n, line[2:]))
		case ex != nil:
			if len(ex.commands) == 0 {
				t.Fatalf("%s:%d: output before any $ command", page, n)
			}
			c := &ex.commands[len(ex.commands)-1]
			c.want += line + "\n"
		case inFence:
			body = append(body, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if inFence {
		t.Fatalf("%s: a fence is not closed", page)
	}
	return out
}

// parseDocCommand reads "pgusers ARGS [2>/dev/null] [# comment]".
func parseDocCommand(t *testing.T, page string, n int, s string) docCommand {
	t.Helper()
	c := docCommand{line: n}
	if i := strings.Index(s, " #"); i >= 0 {
		if m := exitComment.FindStringSubmatch(s[i:]); m != nil {
			c.exit, _ = strconv.Atoi(m[1])
		}
		s = s[:i]
	}
	words, ok := shellWords(s)
	if !ok {
		t.Fatalf("%s:%d: an unclosed quote", page, n)
	}
	if len(words) == 0 || words[0] != "pgusers" {
		t.Fatalf("%s:%d: a console example runs pgusers, not %q", page, n, s)
	}
	for _, w := range words[1:] {
		if w == "2>/dev/null" {
			c.dropStderr = true
		} else {
			c.args = append(c.args, w)
		}
	}
	return c
}

// shellWords splits s at spaces, keeping quoted text ('...' or "...")
// together, as a shell does for the simple command lines of the pages;
// false when a quote is not closed.
func shellWords(s string) ([]string, bool) {
	var words []string
	var word strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			word.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ':
			if inWord {
				words = append(words, word.String())
				word.Reset()
			}
			inWord = false
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, quote == 0
}

// run runs the example's commands in order, in one directory, and compares
// what each prints with the page.
func (ex *docExample) run(t *testing.T) {
	t.Chdir(t.TempDir())
	e := env{getenv: func(string) string { return "" }}
	if ex.fixture != "" {
		if fixture, ok := docFixtures[ex.fixture]; ok {
			fixture(t, ex, &e)
		} else if err := os.CopyFS(".", os.DirFS(filepath.Join(ex.root, "cmd", "pgusers", "testdata", "docexamples", ex.fixture))); err != nil {
			t.Fatalf("%s:%d: fixture %q is neither in docFixtures nor a directory of testdata/docexamples: %v", ex.page, ex.line, ex.fixture, err)
		}
	}
	for _, c := range ex.commands {
		var out syncBuffer
		e.stdin, e.stdout, e.stderr = strings.NewReader(""), &out, &out
		if c.dropStderr {
			e.stderr = io.Discard
		}
		code := runCommand(context.Background(), c.args, e)
		got, want := normalizeDocOutput(out.String()), normalizeDocOutput(c.want)
		if code != c.exit {
			t.Errorf("%s:%d: pgusers %s exited %d, the page says %d (write \"# exit %d\" after the command)",
				ex.page, c.line, strings.Join(c.args, " "), code, c.exit, code)
		}
		if got != want {
			t.Errorf("%s:%d: pgusers %s printed what the page does not say\n--- the page:\n%s--- the command:\n%s",
				ex.page, c.line, strings.Join(c.args, " "), want, got)
		}
	}
}

// What differs from one machine to the next, and only that, is replaced
// before outputs are compared.
var docVarying = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`go1\.\d+(\.\d+)?((rc|beta)\d+)?`), "go1.N"},
	{regexp.MustCompile(`\b(linux|darwin|windows|freebsd)/(amd64|arm64|386|arm)\b`), "OS/ARCH"},
	{regexp.MustCompile(`\b(127\.0\.0\.1|localhost):\d+`), "HOST:PORT"},
}

// normalizeDocOutput drops trailing spaces and blank lines, which a page
// cannot show, and replaces docVarying.
func normalizeDocOutput(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
	for _, v := range docVarying {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

// syncBuffer is stdout and stderr in one, in the order they were written,
// as a terminal shows them; the run's goroutines may log at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The command lines of the pages' sh blocks are not run (they need Azure),
// but each must be one pgusers takes: its command exists, its flags and
// their values parse, its arguments are allowed. A renamed flag fails here.
// Shell variables stand for a value ("0"); a pipe, "&&" or a redirection
// ends the command.
func TestDocCommandLines(t *testing.T) {
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "../../README.md")
	n := 0
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		inSh := false
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "```") {
				inSh = !inSh && strings.TrimPrefix(line, "```") == "sh"
				continue
			}
			line = strings.TrimSpace(line)
			if !inSh || !strings.HasPrefix(line, "pgusers ") {
				continue
			}
			n++
			if err := docCommandLineParses(line); err != nil {
				t.Errorf("%s:%d: %s: %v", page, i+1, line, err)
			}
		}
	}
	if n < 30 {
		t.Errorf("found %d pgusers command lines in sh blocks; the parser lost some", n)
	}
}

var shellVariable = regexp.MustCompile(`\$\{\{[^}]*\}\}|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)

// docCommandLineParses parses line as the pgusers command line would,
// without running it.
func docCommandLineParses(line string) error {
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	if i := strings.IndexAny(line, "|&><;"); i >= 0 {
		line = line[:i]
	}
	words, ok := shellWords(shellVariable.ReplaceAllString(line, "0"))
	if !ok {
		return fmt.Errorf("an unclosed quote")
	}
	args := words[1:]
	a := &app{env: env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}, args: args}
	root := newRootCommand(a)
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	return cmd.ValidateArgs(cmd.Flags().Args())
}
