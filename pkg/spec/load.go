package spec

import (
	"cmp"
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

	"github.com/pgusers/pgusers/internal/yamltree"
)

// DefaultFile is what Load reads when it is given no path.
const DefaultFile = "pgusers.yaml"

// Load reads the files and directories in paths (a directory stands for
// every *.yaml and *.yml file in it, sorted by name, not recursing), merges
// them and checks them. No paths means DefaultFile in the working
// directory. When anything is wrong the error is an Errors holding every
// problem found, in file order, and the Desired is nil.
func Load(paths []string) (*Desired, error) {
	return Read(paths).Decode()
}

// Files are desired-state files read and parsed, not yet decoded.
type Files struct {
	read   *collector // the problems of reading and parsing
	names  []string   // the files, in order
	parsed []parsedFile
}

type parsedFile struct {
	name string
	root yamltree.Node
}

// Read reads and parses the files and directories in paths, as Load does.
// Its problems are kept for Decode to report with all the others.
func Read(paths []string) *Files {
	c := &collector{order: map[string]int{}}
	f := &Files{read: c, names: c.expand(paths)}
	for _, name := range f.names {
		if root := c.readFile(name); !root.IsZero() {
			f.parsed = append(f.parsed, parsedFile{name, root})
		}
	}
	return f
}

// Decode decodes, merges and checks the files: the desired state, or an
// Errors holding every problem found, in file order.
func (f *Files) Decode() (*Desired, error) {
	c := f.read.clone()
	servers := c.merge(c.decode(f.parsed))
	if len(c.errs) > 0 {
		return nil, c.sorted()
	}
	return &Desired{Servers: servers, Files: f.names}, nil
}

// Connections returns the servers with what connecting to them takes (the
// settings, defaults applied) and without their principals, or false when
// the files have any problem (Decode says which). It skips the principals,
// by far the largest part of large files, so that a caller can start
// connecting while Decode runs.
func (f *Files) Connections() ([]Server, bool) {
	c := f.read.clone()
	c.connectionsOnly = true
	servers := c.merge(c.decode(f.parsed))
	if len(c.errs) > 0 {
		return nil, false
	}
	return servers, true
}

func (c *collector) decode(files []parsedFile) []*rawFile {
	raws := make([]*rawFile, 0, len(files))
	for _, f := range files {
		d := &decoder{file: f.name, errs: c, budget: 10*countNodes(f.root) + 1000}
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
func (c *collector) readFile(file string) yamltree.Node {
	data, err := readText(file)
	if err != nil {
		c.add(Position{File: file}, scope{}, describeFSError(err))
		return yamltree.Node{}
	}
	return c.parse(file, data)
}

// readText is os.ReadFile into a string without a second copy: the values
// in the tree are pieces of it.
func readText(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		b.Grow(int(info.Size()))
	}
	if _, err := io.Copy(&b, f); err != nil {
		return "", err
	}
	return b.String(), nil
}

// parse returns the root node of the file's one document, or no node after
// reporting why there is none. Files in the usual plain block style are
// read by yamltree.Parse, several times faster; the rest, and every file
// with a syntax error, by yaml.v3.
func (c *collector) parse(file string, data string) (root yamltree.Node) {
	if root, ok := yamltree.Parse(data); ok {
		return root
	}
	defer func() {
		// yaml.v3 has panicked on hostile input before; a bad file must
		// stay an error message.
		if r := recover(); r != nil {
			c.add(Position{File: file}, scope{}, fmt.Sprintf("invalid YAML: %v", r))
			root = yamltree.Node{}
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			c.add(Position{File: file}, scope{}, "the file is empty; it needs at least version: 1")
		} else {
			c.yamlError(file, err)
		}
		return yamltree.Node{}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		c.yamlError(file, err)
		return yamltree.Node{}
	default:
		c.add(Position{File: file, Line: next.Line, Column: next.Column}, scope{},
			"a second YAML document (after ---); put each document in a file of its own")
		return yamltree.Node{}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		c.add(Position{File: file}, scope{}, "the file is empty; it needs at least version: 1")
		return yamltree.Node{}
	}
	root = yamltree.FromYAML(doc.Content[0])
	if isNull(root) {
		c.add(Position{File: file}, scope{}, "the file is empty; it needs at least version: 1")
		return yamltree.Node{}
	}
	return root
}

var yamlLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// yamlError keeps the line yaml.v3 gives, as a position.
func (c *collector) yamlError(file string, err error) {
	msg := err.Error()
	pos := Position{File: file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	c.add(pos, scope{}, "invalid YAML: "+msg)
}

// collector gathers the problems of one Load.
type collector struct {
	errs Errors
	seen map[Error]bool
	// order ranks files as they were named, so errors sort in file order.
	order map[string]int
	// connectionsOnly decodes the servers' settings alone (Connections).
	connectionsOnly bool
}

// clone is a collector that goes on from c's problems without adding to
// them.
func (c *collector) clone() *collector {
	return &collector{errs: slices.Clone(c.errs), seen: maps.Clone(c.seen), order: c.order}
}

func (c *collector) fileOrder(file string) {
	if _, ok := c.order[file]; !ok {
		c.order[file] = len(c.order)
	}
}

func (c *collector) add(pos Position, sc scope, msg string) {
	e := Error{Pos: pos, Server: sc.server, Set: sc.set, Principal: sc.principal, Msg: msg}
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
