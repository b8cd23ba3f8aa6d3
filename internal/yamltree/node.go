package yamltree

import (
	"gopkg.in/yaml.v3"
)

// Node is one node of a parsed YAML document: what pkg/spec reads of a
// yaml.Node (kind, resolved tag, text, position, children, alias target),
// without the comments and styles it never reads, at half the size. A file
// of 10,000 principals has some 70,000 nodes.
type Node struct {
	Kind   yaml.Kind
	Line   int32 // 1-based, as yaml.v3 counts
	Column int32 // 1-based, in characters, as yaml.v3 counts
	// Tag is the short tag yaml.v3's ShortTag gives: "!!str", "!!int",
	// "!!map", a custom tag such as "!secret", ...
	Tag   string
	Value string
	// Content holds a mapping's keys and values in turn, a sequence's
	// items, a document's root.
	Content []*Node
	// Alias is what an alias node refers to.
	Alias *Node
}

// FromYAML converts a tree that yaml.v3 built. Every node is converted once,
// so aliases keep pointing at their (converted) anchors, even one that
// holds its own alias.
func FromYAML(n *yaml.Node) *Node {
	seen := map[*yaml.Node]*Node{}
	var convert func(*yaml.Node) *Node
	convert = func(y *yaml.Node) *Node {
		if y == nil {
			return nil
		}
		if c, ok := seen[y]; ok {
			return c
		}
		c := &Node{Kind: y.Kind, Line: int32(y.Line), Column: int32(y.Column), Value: y.Value}
		seen[y] = c
		if y.Kind != yaml.AliasNode {
			// An alias's ShortTag is its anchor's, which may still be
			// being converted; the decoder follows aliases first anyway.
			c.Tag = y.ShortTag()
		}
		if len(y.Content) > 0 {
			c.Content = make([]*Node, len(y.Content))
			for i, ch := range y.Content {
				c.Content[i] = convert(ch)
			}
		}
		c.Alias = convert(y.Alias)
		return c
	}
	return convert(n)
}

// Bool is the value of a scalar tagged !!bool, decoded as yaml.v3 decodes
// it; an error for anything else.
func (n *Node) Bool() (bool, error) {
	if n.Tag == "!!bool" {
		switch n.Value {
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
func (n *Node) Int() (int, error) {
	var i int
	err := n.yaml().Decode(&i)
	return i, err
}

// yaml is n as a yaml.v3 scalar, for decoding by its rules.
func (n *Node) yaml() *yaml.Node {
	return &yaml.Node{Kind: n.Kind, Tag: n.Tag, Value: n.Value, Line: int(n.Line), Column: int(n.Column)}
}
