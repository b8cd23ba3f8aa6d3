package yamltree

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Parse reads src, a whole file, when it is written in the plain block style
// that desired-state files use: block mappings and sequences indented with
// spaces, comments, single-line flow mappings and sequences of scalars,
// plain and quoted single-line scalars. It returns the document's root
// node, or false for anything else (anchors, tags, block scalars,
// multi-line scalars, several documents, tabs, syntax errors, ...): the
// caller then parses with yaml.v3, which reads all of YAML and explains
// errors.
//
// When it returns a tree, the tree is the one yaml.v3 builds for src
// (FromYAML of the document's root), position for position; the tests hold
// it to that on every example file and on fuzzed input. It exists for
// speed: yaml.v3 takes 60 ms and 20 MB for a 10,000-principal file, more
// than a whole no-op plan may; Parse takes 8 ms and 4 MB
// (BenchmarkParse10k).
func Parse(src string) (root Node, ok bool) {
	ascii, ok := checkText(src)
	if !ok {
		return Node{}, false
	}
	// Nodes seldom take less than 8 bytes of text each (append grows the
	// slices when they do); capacity never written to costs nothing, as its
	// pages are never touched.
	p := &parser{src: src, ascii: ascii, t: &Tree{src: src,
		nodes: make([]node, 0, len(src)/8+1), kids: make([]int32, 0, len(src)/8+1)}}
	defer func() {
		// A construct outside the subset unwinds the parse from any depth.
		if r := recover(); r != nil {
			if r != errOutside {
				panic(r)
			}
			root, ok = Node{}, false
		}
	}()
	p.nextLine()
	if p.eof {
		return Node{}, false // empty: yaml.v3 says so
	}
	p.block(-1)
	if !p.eof {
		p.outside()
	}
	return p.t.root(), true
}

type outsideSubset struct{}

var errOutside = &outsideSubset{}

// maxDepth bounds nesting; desired-state files nest about six deep.
const maxDepth = 64

// parser walks src line by line. The current line is the next one that is
// neither blank nor only a comment; off is where its content starts, which
// is past a "- " when a sequence item holds a mapping on the same line.
type parser struct {
	src   string
	ascii bool // src is all ASCII: a column is a byte offset

	eof        bool
	lineNo     int // 1-based number of the current line
	start, end int // the current line's offsets, end at its '\n' or len(src)
	off        int // where the current line's content starts
	next       int // offset of the line after the current one
	depth      int

	// The last column counted on a line of non-ASCII text (column).
	colLine, colOff int
	col             int32

	t     *Tree
	stack []int32 // children of the containers being parsed
}

func (p *parser) outside() {
	panic(errOutside)
}

// nextLine moves to the next line with content.
func (p *parser) nextLine() {
	for {
		if p.next >= len(p.src) {
			p.eof = true
			return
		}
		p.lineNo++
		p.start = p.next
		p.end = strings.IndexByte(p.src[p.start:], '\n')
		if p.end < 0 {
			p.end = len(p.src)
			p.next = len(p.src)
		} else {
			p.end += p.start
			p.next = p.end + 1
		}
		p.off = p.start
		for p.off < p.end && p.src[p.off] == ' ' {
			p.off++
		}
		if p.off < p.end && p.src[p.off] != '#' {
			return
		}
	}
}

// indent is the column (0-based) where the current content starts.
func (p *parser) indent() int {
	return p.off - p.start
}

func (p *parser) column(off int) int32 {
	if p.ascii {
		return int32(off - p.start + 1)
	}
	// Counted on from the last column asked on this line: nodes come left
	// to right, and a line of many values must not be counted from its
	// start for each.
	if p.colLine != p.lineNo || off < p.colOff {
		p.colLine, p.colOff, p.col = p.lineNo, p.start, 1
	}
	p.col += int32(utf8.RuneCountInString(p.src[p.colOff:off]))
	p.colOff = off
	return p.col
}

// node adds a node that starts at offset off of the current line, with
// src[from:to] as its value.
func (p *parser) node(kind yaml.Kind, tag uint8, off, from, to int) int32 {
	p.t.nodes = append(p.t.nodes, node{kind: uint8(kind), tag: tag, line: int32(p.lineNo), column: p.column(off),
		value: span{int32(from), int32(to - from)}})
	return int32(len(p.t.nodes) - 1)
}

// seqEntry reports whether the current content is a "-" item indicator.
func (p *parser) seqEntry() bool {
	o := p.off
	return p.src[o] == '-' && (o+1 == p.end || p.src[o+1] == ' ')
}

// block parses the node that starts on the current line, which is indented
// more than parent.
func (p *parser) block(parent int) int32 {
	if p.indent() <= parent {
		p.outside()
	}
	p.depth++
	if p.depth > maxDepth {
		p.outside()
	}
	defer func() { p.depth-- }()
	if p.seqEntry() {
		return p.sequence()
	}
	// A scalar or flow collection alone on its line is valid YAML but no
	// desired-state file needs it.
	return p.mapping()
}

// mapping parses a block mapping whose first key is at the current offset.
func (p *parser) mapping() int32 {
	ind := p.indent()
	m := p.node(yaml.MappingNode, tagMap, p.off, 0, 0)
	mark := len(p.stack)
	for {
		k, after := p.key()
		p.stack = append(p.stack, k, p.value(ind, after))
		if p.eof || p.indent() < ind {
			break
		}
		if p.indent() > ind || p.seqEntry() {
			p.outside()
		}
	}
	p.t.nodes[m].kids = p.children(mark)
	return m
}

// sequence parses a block sequence whose first "-" is at the current offset.
func (p *parser) sequence() int32 {
	ind := p.indent()
	s := p.node(yaml.SequenceNode, tagSeq, p.off, 0, 0)
	mark := len(p.stack)
	for {
		o := p.off + 1
		for o < p.end && p.src[o] == ' ' {
			o++
		}
		var item int32
		switch {
		case o == p.end || p.src[o] == '#':
			item = p.emptyOrBlock(ind, p.off+1, false)
		case p.src[o] == '-' && (o+1 == p.end || p.src[o+1] == ' '):
			p.outside() // "- - x": a sequence in a sequence
		case p.startsKey(o):
			// "- name: x": a mapping whose keys line up with "name".
			p.off = o
			p.depth++
			if p.depth > maxDepth {
				p.outside()
			}
			item = p.mapping()
			p.depth--
		default:
			item = p.inline(o)
			p.nextLine()
			if !p.eof && p.indent() > ind {
				p.outside() // a continuation line
			}
		}
		p.stack = append(p.stack, item)
		if p.eof || p.indent() < ind {
			break
		}
		if p.indent() > ind {
			p.outside()
		}
		if !p.seqEntry() {
			break // the next key of the mapping that holds this sequence
		}
	}
	p.t.nodes[s].kids = p.children(mark)
	return s
}

// value parses what follows a key's ":" at offset o, and moves past it.
func (p *parser) value(ind, o int) int32 {
	colon := o
	for o < p.end && p.src[o] == ' ' {
		o++
	}
	if o == p.end || p.src[o] == '#' {
		return p.emptyOrBlock(ind, colon, true)
	}
	v := p.inline(o)
	p.nextLine()
	if !p.eof && p.indent() > ind {
		p.outside() // a continuation line, or a mapping value that is not one
	}
	return v
}

// emptyOrBlock is the value of a key (ofKey) or "-" with nothing after it
// on its line (at offset at): the block on the lines below, a sequence at
// the key's own indentation, or null.
func (p *parser) emptyOrBlock(ind, at int, ofKey bool) int32 {
	line, col := p.lineNo, p.column(at)
	p.nextLine()
	switch {
	case p.eof:
	case p.indent() > ind:
		return p.block(ind)
	case ofKey && p.indent() == ind && p.seqEntry():
		// A mapping's value may be a sequence at the mapping's own
		// indentation ("servers:\n- name: a").
		return p.sequence()
	}
	p.t.nodes = append(p.t.nodes, node{kind: uint8(yaml.ScalarNode), tag: tagNull, line: int32(line), column: col})
	return int32(len(p.t.nodes) - 1)
}

// children moves the nodes pushed since mark to the tree, as one
// container's run of children.
func (p *parser) children(mark int) span {
	k := span{int32(len(p.t.kids)), int32(len(p.stack) - mark)}
	p.t.kids = append(p.t.kids, p.stack[mark:]...)
	p.stack = p.stack[:mark]
	return k
}
