// Package spec reads, merges and validates pgusers desired-state files.
//
// Load takes files and directories, decodes them strictly (unknown keys are
// errors), merges defaults, principal sets and servers into one Desired
// state, expands each server's included sets and checks every rule of the
// file format. Every problem carries the file:line:column it comes from, and
// Load reports all of them at once.
package spec
