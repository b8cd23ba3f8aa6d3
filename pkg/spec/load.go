package spec

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultFile is what Load reads when it is given no path.
const DefaultFile = "pgusers.yaml"

// Load reads the files and directories in paths (a directory stands for
// every *.yaml and *.yml file in it, sorted by name, not recursing), merges
// them and checks them. No paths means DefaultFile in the working
// directory. When anything is wrong the error is an Errors holding every
// problem found, in file order, and the Desired is nil. When ctx ends
// first, Load stops and returns ctx's error.
func Load(ctx context.Context, paths []string) (*Desired, error) {
	f, err := Read(ctx, paths)
	if err != nil {
		return nil, err
	}
	return f.Decode(ctx)
}

// MaxFileBytes is the largest desired-state file pgusers reads: a file of
// 10,000 principals is about 1 MiB, and parsing costs about 40 times a
// file's size in memory.
const MaxFileBytes = 64 << 20

// Files are desired-state files read and parsed, not yet decoded.
type Files struct {
	read   *collector // the problems of reading and parsing
	names  []string   // the files, in order
	parsed []parsedFile
}

type parsedFile struct {
	name string
	root *yaml.Node
}

// Read reads and parses the files and directories in paths, as Load does.
// Its problems are kept for Decode to report with all the others; the
// error is ctx's, when it ends before the files are parsed.
func Read(ctx context.Context, paths []string) (*Files, error) {
	c := &collector{order: map[string]int{}}
	f := &Files{read: c, names: c.expand(paths)}
	for _, name := range f.names {
		root, err := c.readFile(ctx, name)
		if err != nil {
			return nil, err
		}
		if root != nil {
			f.parsed = append(f.parsed, parsedFile{name, root})
		}
	}
	return f, nil
}

// Decode decodes, merges and checks the files: the desired state, or an
// Errors holding every problem found, in file order, or ctx's error when
// it ends first.
func (f *Files) Decode(ctx context.Context) (*Desired, error) {
	c := f.read.clone()
	m := c.merge(c.decode(ctx, f.parsed))
	if err := ctx.Err(); err != nil {
		return nil, stopped(err)
	}
	if len(c.errs) > 0 {
		return nil, c.sorted()
	}
	warnings := slices.Clone(c.warnings)
	slices.SortStableFunc(warnings, func(a, b *Error) int { return c.comparePos(a.Pos, b.Pos) })
	return &Desired{Servers: m.servers, Refined: m.refined, Discover: m.discover, Files: f.names, Warnings: warnings}, nil
}

// Connections returns the servers with what connecting to them takes (the
// settings, defaults applied) and without their principals, or false when
// the files have any problem (Decode says which) or discover entries: no
// server is to be contacted before discovery succeeded. It skips the
// principals, by far the largest part of large files, so that a caller can
// start connecting while Decode runs.
func (f *Files) Connections(ctx context.Context) ([]Server, bool) {
	c := f.read.clone()
	c.connectionsOnly = true
	raws := c.decode(ctx, f.parsed)
	m := c.merge(raws)
	if len(c.errs) > 0 || ctx.Err() != nil || slices.ContainsFunc(raws, func(r *rawFile) bool { return len(r.discover) > 0 }) {
		return nil, false
	}
	return m.servers, true
}

// stopped is the error of a load that ctx ended.
func stopped(err error) error {
	return fmt.Errorf("stopped reading the desired-state files: %w", err)
}

func (c *collector) decode(ctx context.Context, files []parsedFile) []*rawFile {
	raws := make([]*rawFile, 0, len(files))
	for _, f := range files {
		d := &decoder{ctx: ctx, file: f.name, errs: c, budget: 10*countNodes(f.root) + 1000}
		if r := d.decodeFile(f.root); r != nil {
			raws = append(raws, r)
		}
	}
	return raws
}

// expand turns paths into the files to read, each once.
func (c *collector) expand(paths []string) []string {
	if len(paths) == 0 {
		if _, err := os.Stat(DefaultFile); errors.Is(err, fs.ErrNotExist) {
			c.add(Position{}, scope{}, "no "+DefaultFile+" in the working directory; create one or name the files to read with -f")
			return nil
		}
		paths = []string{DefaultFile}
	}
	var files []string
	seen := map[string]bool{}
	addFile := func(f string) {
		key := f
		if abs, err := filepath.Abs(f); err == nil {
			key = abs
		}
		// The same file named twice (on its own and through its
		// directory) would otherwise clash with itself.
		if !seen[key] {
			seen[key] = true
			c.fileOrder(f)
			files = append(files, f)
		}
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			c.fileOrder(p)
			c.add(Position{File: p}, scope{}, describeFSError(err))
			continue
		}
		if !info.IsDir() {
			addFile(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			c.fileOrder(p)
			c.add(Position{File: p}, scope{}, describeFSError(err))
			continue
		}
		found := false
		for _, e := range entries { // os.ReadDir sorts by name
			name := e.Name()
			if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") {
				continue
			}
			f := filepath.Join(p, name)
			if info, err := os.Stat(f); err == nil && info.IsDir() {
				continue
			}
			found = true
			addFile(f)
		}
		if !found {
			c.fileOrder(p)
			c.add(Position{File: p}, scope{}, "the directory holds no *.yaml or *.yml file")
		}
	}
	return files
}

func describeFSError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "no such file or directory"
	}
	return "cannot read: " + err.Error()
}

// readFile reads and parses file; no node after reporting why it cannot.
// Parsing cannot be interrupted, so it runs aside: when ctx ends first,
// readFile returns at once with ctx's error.
func (c *collector) readFile(ctx context.Context, file string) (*yaml.Node, error) {
	data, err := readText(file)
	if err != nil {
		c.add(Position{File: file}, scope{}, describeFSError(err))
		return nil, nil
	}
	type parsed struct {
		root *yaml.Node
		errs []parseProblem
	}
	done := make(chan parsed, 1)
	go func() {
		root, errs := parse(data)
		done <- parsed{root, errs}
	}()
	select {
	case <-ctx.Done():
		return nil, stopped(ctx.Err())
	case p := <-done:
		for _, e := range p.errs {
			c.add(Position{File: file, Line: e.line, Column: e.column}, scope{}, e.msg)
		}
		return p.root, nil
	}
}

// errTooLarge is a file over MaxFileBytes.
var errTooLarge = fmt.Errorf("the file is larger than %d MiB, the most pgusers reads; split it into several files", MaxFileBytes>>20)

// readText reads a file of at most MaxFileBytes.
func readText(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() && info.Size() > MaxFileBytes {
		return nil, errTooLarge
	}
	// Not every file has a size to check first (a pipe, /dev/stdin).
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err == nil && len(data) > MaxFileBytes {
		err = errTooLarge
	}
	return data, err
}

type parseProblem struct {
	line, column int
	msg          string
}

// parse returns the root node of the file's one document, or no node and
// why there is none.
func parse(data []byte) (root *yaml.Node, problems []parseProblem) {
	problem := func(line, column int, msg string) (*yaml.Node, []parseProblem) {
		return nil, append(problems, parseProblem{line, column, msg})
	}
	defer func() {
		// yaml.v3 has panicked on hostile input before; a bad file must
		// stay an error message.
		if r := recover(); r != nil {
			root, problems = problem(0, 0, fmt.Sprintf("invalid YAML: %v", r))
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return problem(0, 0, "the file is empty; it needs at least version: 1")
		}
		line, msg := yamlError(err)
		return problem(line, 0, msg)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		line, msg := yamlError(err)
		return problem(line, 0, msg)
	default:
		return problem(next.Line, next.Column, "a second YAML document (after ---); put each document in a file of its own")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return problem(0, 0, "the file is empty; it needs at least version: 1")
	}
	return doc.Content[0], nil
}

var yamlLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// yamlError splits yaml.v3's message into the line it gives and the rest.
func yamlError(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, "invalid YAML: " + m[2]
	}
	return 0, "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")
}

// collector gathers the problems of one Load.
type collector struct {
	errs Errors
	seen map[Error]bool
	// warnings are what is not wrong, and still worth saying.
	warnings Errors
	// order ranks files as they were named, so errors sort in file order.
	order map[string]int
	// connectionsOnly decodes the servers' settings alone (Connections).
	connectionsOnly bool
}

// clone is a collector that goes on from c's problems without adding to
// them.
func (c *collector) clone() *collector {
	return &collector{errs: slices.Clone(c.errs), seen: maps.Clone(c.seen), order: c.order, warnings: slices.Clone(c.warnings)}
}

func (c *collector) fileOrder(file string) {
	if _, ok := c.order[file]; !ok {
		c.order[file] = len(c.order)
	}
}

func (c *collector) add(pos Position, sc scope, msg string) {
	e := Error{Pos: pos, Server: sc.server, Set: sc.set, Profile: sc.profile, Role: sc.role, Principal: sc.principal, Msg: msg}
	// An anchor used twice is walked twice; its problem is one problem.
	if c.seen == nil {
		c.seen = map[Error]bool{}
	}
	if c.seen[e] {
		return
	}
	c.seen[e] = true
	c.errs = append(c.errs, &e)
}

// warn records something worth saying that is not an error.
func (c *collector) warn(pos Position, sc scope, msg string) {
	e := &Error{Pos: pos, Server: sc.server, Set: sc.set, Principal: sc.principal, Msg: msg}
	for _, w := range c.warnings {
		if *w == *e {
			return
		}
	}
	c.warnings = append(c.warnings, e)
}

func (c *collector) comparePos(a, b Position) int {
	if a.File == b.File {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	}
	rank := func(p Position) int {
		if r, ok := c.order[p.File]; ok {
			return r
		}
		return -1
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
}

func (c *collector) sorted() Errors {
	out := slices.Clone(c.errs)
	slices.SortStableFunc(out, func(a, b *Error) int { return c.comparePos(a.Pos, b.Pos) })
	return out
}
