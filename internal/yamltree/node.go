package yamltree

import (
	"gopkg.in/yaml.v3"
)

// Tree is one parsed YAML document, flat. Its nodes hold no pointers, so
// the garbage collector never scans them, and a node takes 32 bytes where a
// yaml.Node takes 152: a file of 10,000 principals has some 70,000 nodes,
// and on a cold process each megabyte costs milliseconds of page faults.
type Tree struct {
	src   string   // the text the values are pieces of
	nodes []node   // nodes[0] is the root
	kids  []int32  // the children of every container, a run per container
	strs  []string // values that are not pieces of src
	// tags are the custom tags ("!secret"), by node, which only yaml.v3
	// reads.
	tags map[int32]string
}

type node struct {
	kind         uint8 // a yaml.Kind
	tag          uint8 // an index in tagNames, or customTag
	line, column int32
	// value is src[value.off:][:value.n], or strs[-value.off-1] when off
	// is negative.
	value span
	kids  span  // kids[kids.off:][:kids.n]
	alias int32 // the anchor of an alias node
}

type span struct{ off, n int32 }

var tagNames = [...]string{"", "!!str", "!!int", "!!bool", "!!null", "!!float", "!!timestamp", "!!map", "!!seq", "!!binary", "!!merge"}

// The indexes in tagNames that Parse gives.
const (
	tagStr  = 1
	tagInt  = 2
	tagBool = 3
	tagNull = 4
	tagMap  = 7
	tagSeq  = 8

	customTag = 255
)

func tagID(tag string) uint8 {
	for i, t := range tagNames {
		if t == tag {
			return uint8(i)
		}
	}
	return customTag
}

// Node is one node of a tree. The zero Node is no node.
type Node struct {
	t *Tree
	i int32
}

func (t *Tree) root() Node { return Node{t, 0} }

func (n Node) IsZero() bool { return n.t == nil }

func (n Node) node() *node { return &n.t.nodes[n.i] }

func (n Node) Kind() yaml.Kind { return yaml.Kind(n.node().kind) }

// Line is 1-based, as yaml.v3 counts.
func (n Node) Line() int { return int(n.node().line) }

// Column is 1-based and in characters, as yaml.v3 counts.
func (n Node) Column() int { return int(n.node().column) }

// Tag is the short tag yaml.v3's ShortTag gives: "!!str", "!!int",
// "!!map", a custom tag such as "!secret", ...
func (n Node) Tag() string {
	if id := n.node().tag; id != customTag {
		return tagNames[id]
	}
	return n.t.tags[n.i]
}

// Value is a scalar's text, or an alias's anchor name.
func (n Node) Value() string {
	v := n.node().value
	if v.off < 0 {
		return n.t.strs[-v.off-1]
	}
	return n.t.src[v.off : v.off+v.n]
}

// Len is how many children n has: a mapping's keys and values in turn, a
// sequence's items.
func (n Node) Len() int { return int(n.node().kids.n) }

// Child is n's i-th child.
func (n Node) Child(i int) Node {
	k := n.node().kids
	if i < 0 || i >= int(k.n) {
		panic("yamltree: child out of range")
	}
	return Node{n.t, n.t.kids[int(k.off)+i]}
}

// Alias is the node an alias node refers to; the zero Node for any other.
func (n Node) Alias() Node {
	if n.Kind() != yaml.AliasNode {
		return Node{}
	}
	return Node{n.t, n.node().alias}
}

// FromYAML converts a tree that yaml.v3 built. Every node is converted once,
// so aliases keep pointing at their (converted) anchors, even one that
// holds its own alias.
func FromYAML(y *yaml.Node) Node {
	t := &Tree{}
	index := map[*yaml.Node]int32{}
	var convert func(*yaml.Node) int32
	convert = func(y *yaml.Node) int32 {
		if i, ok := index[y]; ok {
			return i
		}
		i := int32(len(t.nodes))
		index[y] = i
		t.nodes = append(t.nodes, node{kind: uint8(y.Kind), line: int32(y.Line), column: int32(y.Column)})
		if y.Value != "" {
			t.strs = append(t.strs, y.Value)
			t.nodes[i].value = span{off: -int32(len(t.strs))}
		}
		if y.Kind != yaml.AliasNode {
			// An alias's ShortTag is its anchor's, which may still be
			// being converted; the decoder follows aliases first anyway.
			if tag := y.ShortTag(); tagID(tag) == customTag {
				if t.tags == nil {
					t.tags = map[int32]string{}
				}
				t.nodes[i].tag, t.tags[i] = customTag, tag
			} else {
				t.nodes[i].tag = tagID(tag)
			}
		}
		kids := make([]int32, len(y.Content))
		for j, c := range y.Content {
			kids[j] = convert(c)
		}
		t.nodes[i].kids = span{int32(len(t.kids)), int32(len(kids))}
		t.kids = append(t.kids, kids...)
		if y.Alias != nil {
			t.nodes[i].alias = convert(y.Alias)
		}
		return i
	}
	convert(y)
	return t.root()
}

// Bool is the value of a scalar tagged !!bool, decoded as yaml.v3 decodes
// it; an error for anything else.
func (n Node) Bool() (bool, error) {
	if n.Tag() == "!!bool" {
		switch n.Value() {
		case "true", "True", "TRUE":
			return true, nil
		case "false", "False", "FALSE":
			return false, nil
		}
	}
	var b bool
	err := n.yaml().Decode(&b)
	return b, err
}

// Int is the value of a scalar tagged !!int, decoded as yaml.v3 decodes it
// (0x1f, 0o17, 1_000, ...); an error when it does not fit an int.
func (n Node) Int() (int, error) {
	var i int
	err := n.yaml().Decode(&i)
	return i, err
}

// yaml is n as a yaml.v3 scalar, for decoding by its rules.
func (n Node) yaml() *yaml.Node {
	return &yaml.Node{Kind: n.Kind(), Tag: n.Tag(), Value: n.Value(), Line: n.Line(), Column: n.Column()}
}
