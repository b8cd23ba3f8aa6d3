// Package cli holds what pgusers' commands share and cobra does not do:
// flag values that check what they are given as it is parsed (so that a bad
// value is reported with the flag's name before anything is read), usage
// errors that say what to do, did-you-mean suggestions, the terminal
// checks, and the rule that stdout holds one JSON document when --output
// json is asked for.
//
// The commands themselves, what they do and their help, are in
// cmd/pgusers.
package cli
