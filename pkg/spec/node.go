package spec

import (
	"context"
	"strings"

	"gopkg.in/yaml.v3"
)

// scope is what an error is about; every helper passes it on so that a
// message deep inside a principal still names its server or set.
type scope struct {
	server, set, profile, role, principal string
}

// decoder walks the nodes of one file. It never stops at a problem: it
// reports it and goes on, so that one run shows them all.
type decoder struct {
	ctx  context.Context // the walk stops when it ends
	file string
	errs *collector
	// visits counts nodes reached, aliases included. An alias can point to
	// a node that holds it, or fan out exponentially ("billion laughs"), so
	// the walk gives up past a budget proportional to the file.
	visits, budget int
	overBudget     bool
}

func (d *decoder) pos(n *yaml.Node) Position {
	return Position{File: d.file, Line: n.Line, Column: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, sc scope, format string, args ...any) {
	d.errs.add(d.pos(n), sc, errorMsg(format, args...))
}

// resolve follows an alias to its anchor; no node means the walk must
// stop.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 8 {
			return nil
		}
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	d.visits++
	// Checking the context every few thousand nodes costs nothing and ends
	// the walk of a huge file promptly on Ctrl-C.
	if d.visits%4096 == 0 && d.ctx.Err() != nil {
		return nil
	}
	if d.visits > d.budget {
		if !d.overBudget {
			d.overBudget = true
			d.errs.add(Position{File: d.file}, scope{}, "aliases expand to far more nodes than the file holds (a cycle or an alias bomb); write the values out")
		}
		return nil
	}
	return n
}

// countNodes sizes the walk budget; it does not follow aliases, so it ends.
func countNodes(n *yaml.Node) int {
	c := 1
	for i := range len(n.Content) {
		c += countNodes(n.Content[i])
	}
	return c
}

type pair struct {
	key  string
	k, v *yaml.Node
}

// maxMergeDepth bounds "<<" merges that merge themselves.
const maxMergeDepth = 16

// mapping returns the key/value pairs of n, or false when n is not a
// mapping. Keys set twice are errors (the first one wins); "<<" merge keys
// are expanded, with the mapping's own keys winning over merged ones, as
// YAML specifies.
func (d *decoder) mapping(n *yaml.Node, sc scope, what string) ([]pair, bool) {
	n = d.resolve(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, sc, "%s must be a mapping (key: value lines), not %s", what, describe(n))
		return nil, false
	}
	return d.pairs(n, sc, 0), true
}

func (d *decoder) pairs(n *yaml.Node, sc scope, depth int) []pair {
	own := make([]pair, 0, len(n.Content)/2)
	var merged []pair
	// Most mappings hold a handful of keys, and a large file holds
	// thousands of such mappings: a linear look-up allocates nothing.
	var index map[string]*yaml.Node
	if len(n.Content)/2 > 16 {
		index = make(map[string]*yaml.Node, len(n.Content)/2)
	}
	seen := func(key string) (*yaml.Node, bool) {
		if index != nil {
			k, ok := index[key]
			return k, ok
		}
		for _, p := range own {
			if p.key == key {
				return p.k, true
			}
		}
		return nil, false
	}
	keep := func(p pair) {
		own = append(own, p)
		if index != nil {
			index[p.key] = p.k
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(v, sc, depth+1)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, sc, "a key must be a plain name, not %s", describe(k))
			continue
		}
		if first, dup := seen(k.Value); dup {
			d.errorf(k, sc, "key %q is set twice in this mapping (first at %s); keep one", k.Value, d.pos(first))
			continue
		}
		keep(pair{k.Value, k, v})
	}
	for _, p := range merged {
		if _, dup := seen(p.key); !dup {
			keep(p)
		}
	}
	return own
}

func (d *decoder) mergeSources(v *yaml.Node, sc scope, depth int) []pair {
	if depth > maxMergeDepth {
		d.errorf(v, sc, "\"<<\" merges nest more than %d deep (does a mapping merge itself?)", maxMergeDepth)
		return nil
	}
	v = d.resolve(v)
	if v == nil {
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v, sc, depth)
	case yaml.SequenceNode:
		var out []pair
		for i := range len(v.Content) {
			item := v.Content[i]
			item = d.resolve(item)
			if item == nil {
				continue
			}
			if item.Kind != yaml.MappingNode {
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
func peekName(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "name" && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
			return v.Value
		}
	}
	return ""
}

// decodeEach decodes every item of the list n with one, keeping those it
// returns ok: an item with a usable name is kept even when other keys are
// wrong, so that duplicates are still found and reported in the same run.
func decodeEach[T any](d *decoder, n *yaml.Node, sc scope, what string, one func(*yaml.Node) (T, bool)) []T {
	items, _ := d.sequence(n, sc, what)
	out := make([]T, 0, len(items))
	for _, item := range items {
		if v, ok := one(item); ok {
			out = append(out, v)
		}
	}
	return out
}

// sequence returns the items of n; null counts as an empty list.
func (d *decoder) sequence(n *yaml.Node, sc scope, what string) ([]*yaml.Node, bool) {
	n = d.resolve(n)
	if n == nil {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, sc, "%s must be a list, not %s", what, describe(n))
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i := range items {
		items[i] = n.Content[i]
	}
	return items, true
}

// str reads a scalar as the text the user wrote. Numbers and dates are
// taken literally (a role may be called 2024); booleans and null are
// refused because their text is rarely what was meant.
func (d *decoder) str(n *yaml.Node, sc scope, what string) (string, bool) {
	n = d.resolve(n)
	if n == nil {
		return "", false
	}
	switch {
	case isNull(n):
		d.errorf(n, sc, "%s has no value; set one or remove the key", what)
		return "", false
	case n.Kind != yaml.ScalarNode:
		d.errorf(n, sc, "%s must be a string, not %s", what, describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!timestamp":
		return n.Value, true
	case "!!bool":
		d.errorf(n, sc, "%s must be a string, not the boolean %s; quote it (%q) if that is the name", what, n.Value, n.Value)
	default:
		d.errorf(n, sc, "%s must be a string, not %s", what, describe(n))
	}
	return "", false
}

func (d *decoder) boolean(n *yaml.Node, sc scope, what string) (bool, bool) {
	n = d.resolve(n)
	if n == nil {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.errorf(n, sc, "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	b, err := boolValue(n)
	if err != nil {
		d.errorf(n, sc, "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	return b, true
}

func (d *decoder) integer(n *yaml.Node, sc scope, what string) (int, bool) {
	n = d.resolve(n)
	if n == nil {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errorf(n, sc, "%s must be a whole number, not %s", what, describe(n))
		return 0, false
	}
	i, err := intValue(n)
	if err != nil {
		d.errorf(n, sc, "%s %s is out of range", what, n.Value)
		return 0, false
	}
	return i, true
}

// describe names what a node holds, for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "an empty value"
	case "!!bool":
		return "the boolean " + n.Value
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!str":
		return errorMsg("the string %q", n.Value)
	}
	return errorMsg("%q (tagged %s)", n.Value, n.ShortTag())
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
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

// boolValue and intValue decode a scalar as yaml.v3 decodes it into a Go
// value (yes/no are strings in YAML 1.2, 0x1f and 1_000 are numbers).
func boolValue(n *yaml.Node) (bool, error) {
	var b bool
	err := n.Decode(&b)
	return b, err
}

func intValue(n *yaml.Node) (int, error) {
	var i int
	err := n.Decode(&i)
	return i, err
}
