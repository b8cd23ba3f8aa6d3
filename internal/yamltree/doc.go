// Package yamltree holds a parsed YAML document as a compact tree for
// pkg/spec to walk, and reads the common shape of desired-state files fast.
//
// Parse reads the block-style subset that desired-state files are written
// in, seven times faster than yaml.v3 and in a fifth of the memory; for
// anything else it says no, and the caller parses with yaml.v3 and
// converts the result with FromYAML. Either way the tree is the same: the
// tests compare the two on every example and on fuzzed input.
package yamltree
