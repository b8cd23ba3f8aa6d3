package spec

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pgusers/pgusers/internal/yamltree"
)

// scope is what an error is about; every helper passes it on so that a
// message deep inside a principal still names its server or set.
type scope struct {
	server, set, principal string
}

// decoder walks the nodes of one file. It never stops at a problem: it
// reports it and goes on, so that one run shows them all.
type decoder struct {
	file string
	errs *collector
	// visits counts nodes reached, aliases included. An alias can point to
	// a node that holds it, or fan out exponentially ("billion laughs"), so
	// the walk gives up past a budget proportional to the file.
	visits, budget int
	overBudget     bool
}

func (d *decoder) pos(n yamltree.Node) Position {
	return Position{File: d.file, Line: n.Line(), Column: n.Column()}
}

func (d *decoder) errorf(n yamltree.Node, sc scope, format string, args ...any) {
	d.errs.add(d.pos(n), sc, fmt.Sprintf(format, args...))
}

// resolve follows an alias to its anchor; no node means the walk must
// stop.
func (d *decoder) resolve(n yamltree.Node) yamltree.Node {
	for i := 0; !n.IsZero() && n.Kind() == yaml.AliasNode; i++ {
		if i > 8 {
			return yamltree.Node{}
		}
		n = n.Alias()
	}
	if n.IsZero() {
		return yamltree.Node{}
	}
	d.visits++
	if d.visits > d.budget {
		if !d.overBudget {
			d.overBudget = true
			d.errs.add(Position{File: d.file}, scope{}, "aliases expand to far more nodes than the file holds (a cycle or an alias bomb); write the values out")
		}
		return yamltree.Node{}
	}
	return n
}

// countNodes sizes the walk budget; it does not follow aliases, so it ends.
func countNodes(n yamltree.Node) int {
	c := 1
	for i := range n.Len() {
		c += countNodes(n.Child(i))
	}
	return c
}

type pair struct {
	key  string
	k, v yamltree.Node
}

// maxMergeDepth bounds "<<" merges that merge themselves.
const maxMergeDepth = 16

// mapping returns the key/value pairs of n, or false when n is not a
// mapping. Keys set twice are errors (the first one wins); "<<" merge keys
// are expanded, with the mapping's own keys winning over merged ones, as
// YAML specifies.
func (d *decoder) mapping(n yamltree.Node, sc scope, what string) ([]pair, bool) {
	n = d.resolve(n)
	if n.IsZero() {
		return nil, false
	}
	if n.Kind() != yaml.MappingNode {
		d.errorf(n, sc, "%s must be a mapping (key: value lines), not %s", what, describe(n))
		return nil, false
	}
	return d.pairs(n, sc, 0), true
}

func (d *decoder) pairs(n yamltree.Node, sc scope, depth int) []pair {
	own := make([]pair, 0, n.Len()/2)
	var merged []pair
	// Most mappings hold a handful of keys, and a large file holds
	// thousands of such mappings: a linear look-up allocates nothing.
	var index map[string]yamltree.Node
	if n.Len()/2 > 16 {
		index = make(map[string]yamltree.Node, n.Len()/2)
	}
	seen := func(key string) (yamltree.Node, bool) {
		if index != nil {
			k, ok := index[key]
			return k, ok
		}
		for _, p := range own {
			if p.key == key {
				return p.k, true
			}
		}
		return yamltree.Node{}, false
	}
	keep := func(p pair) {
		own = append(own, p)
		if index != nil {
			index[p.key] = p.k
		}
	}
	for i := 0; i+1 < n.Len(); i += 2 {
		k, v := d.resolve(n.Child(i)), n.Child(i+1)
		if k.IsZero() {
			continue
		}
		if k.Kind() == yaml.ScalarNode && k.Tag() == "!!merge" {
			merged = append(merged, d.mergeSources(v, sc, depth+1)...)
			continue
		}
		if k.Kind() != yaml.ScalarNode {
			d.errorf(k, sc, "a key must be a plain name, not %s", describe(k))
			continue
		}
		if first, dup := seen(k.Value()); dup {
			d.errorf(k, sc, "key %q is set twice in this mapping (first at %s); keep one", k.Value(), d.pos(first))
			continue
		}
		keep(pair{k.Value(), k, v})
	}
	for _, p := range merged {
		if _, dup := seen(p.key); !dup {
			keep(p)
		}
	}
	return own
}

func (d *decoder) mergeSources(v yamltree.Node, sc scope, depth int) []pair {
	if depth > maxMergeDepth {
		d.errorf(v, sc, "\"<<\" merges nest more than %d deep (does a mapping merge itself?)", maxMergeDepth)
		return nil
	}
	v = d.resolve(v)
	if v.IsZero() {
		return nil
	}
	switch v.Kind() {
	case yaml.MappingNode:
		return d.pairs(v, sc, depth)
	case yaml.SequenceNode:
		var out []pair
		for i := range v.Len() {
			item := v.Child(i)
			item = d.resolve(item)
			if item.IsZero() {
				continue
			}
			if item.Kind() != yaml.MappingNode {
				d.errorf(item, sc, "\"<<\" merges mappings, not %s", describe(item))
				continue
			}
			out = append(out, d.pairs(item, sc, depth)...)
		}
		return out
	}
	d.errorf(v, sc, "\"<<\" merges a mapping or a list of mappings, not %s", describe(v))
	return nil
}

// peekName is the "name" of a mapping, read before the mapping is walked so
// that every problem inside it, even a key set twice, can say whose it is.
// It reports nothing; the walk proper does.
func peekName(n yamltree.Node) string {
	if n.IsZero() || n.Kind() != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < n.Len(); i += 2 {
		k, v := n.Child(i), n.Child(i+1)
		if k.Kind() == yaml.ScalarNode && k.Value() == "name" && v.Kind() == yaml.ScalarNode && v.Tag() == "!!str" {
			return v.Value()
		}
	}
	return ""
}

// sequence returns the items of n; null counts as an empty list.
func (d *decoder) sequence(n yamltree.Node, sc scope, what string) ([]yamltree.Node, bool) {
	n = d.resolve(n)
	if n.IsZero() {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind() != yaml.SequenceNode {
		d.errorf(n, sc, "%s must be a list, not %s", what, describe(n))
		return nil, false
	}
	items := make([]yamltree.Node, n.Len())
	for i := range items {
		items[i] = n.Child(i)
	}
	return items, true
}

// str reads a scalar as the text the user wrote. Numbers and dates are
// taken literally (a role may be called 2024); booleans and null are
// refused because their text is rarely what was meant.
func (d *decoder) str(n yamltree.Node, sc scope, what string) (string, bool) {
	n = d.resolve(n)
	if n.IsZero() {
		return "", false
	}
	switch {
	case isNull(n):
		d.errorf(n, sc, "%s has no value; set one or remove the key", what)
		return "", false
	case n.Kind() != yaml.ScalarNode:
		d.errorf(n, sc, "%s must be a string, not %s", what, describe(n))
		return "", false
	}
	switch n.Tag() {
	case "!!str", "!!int", "!!float", "!!timestamp":
		return n.Value(), true
	case "!!bool":
		d.errorf(n, sc, "%s must be a string, not the boolean %s; quote it (%q) if that is the name", what, n.Value(), n.Value())
	default:
		d.errorf(n, sc, "%s must be a string, not %s", what, describe(n))
	}
	return "", false
}

func (d *decoder) boolean(n yamltree.Node, sc scope, what string) (bool, bool) {
	n = d.resolve(n)
	if n.IsZero() {
		return false, false
	}
	if n.Kind() != yaml.ScalarNode || n.Tag() != "!!bool" {
		d.errorf(n, sc, "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	b, err := n.Bool()
	if err != nil {
		d.errorf(n, sc, "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	return b, true
}

func (d *decoder) integer(n yamltree.Node, sc scope, what string) (int, bool) {
	n = d.resolve(n)
	if n.IsZero() {
		return 0, false
	}
	if n.Kind() != yaml.ScalarNode || n.Tag() != "!!int" {
		d.errorf(n, sc, "%s must be a whole number, not %s", what, describe(n))
		return 0, false
	}
	i, err := n.Int()
	if err != nil {
		d.errorf(n, sc, "%s %s is out of range", what, n.Value())
		return 0, false
	}
	return i, true
}

// describe names what a node holds, for "must be X, not Y" messages.
func describe(n yamltree.Node) string {
	switch n.Kind() {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag() {
	case "!!null":
		return "an empty value"
	case "!!bool":
		return "the boolean " + n.Value()
	case "!!int", "!!float":
		return "the number " + n.Value()
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value())
	}
	return fmt.Sprintf("%q (tagged %s)", n.Value(), n.Tag())
}

func isNull(n yamltree.Node) bool {
	return n.Kind() == yaml.ScalarNode && n.Tag() == "!!null"
}

// unknownKey reports a key the format does not have, suggesting the one
// that was probably meant.
func (d *decoder) unknownKey(p pair, sc scope, where string, known []string) {
	if s := suggest(p.key, known); s != "" {
		d.errorf(p.k, sc, "unknown key %q; did you mean %q?", p.key, s)
		return
	}
	d.errorf(p.k, sc, "unknown key %q; %s takes %s", p.key, where, strings.Join(known, ", "))
}

// suggest returns the candidate closest to got, if it is close enough to
// be a typo: same letters in another case, or an edit or two away.
func suggest(got string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		if strings.EqualFold(got, c) {
			return c
		}
		dist := editDistance(strings.ToLower(got), strings.ToLower(c))
		limit := 2
		if len(c) <= 4 {
			limit = 1
		}
		if dist <= limit && (bestDist < 0 || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
