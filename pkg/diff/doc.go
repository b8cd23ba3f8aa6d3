// Package diff compares one server's desired state with what the server has
// and returns the Plan that makes them match.
//
// It is pure: no I/O, no logging, no clock. The same desired and observed
// state always give the same Plan, change for change and byte for byte, so
// plans can be saved, compared and golden-tested. Every safety rule that
// decides what pgusers may drop lives here, next to the code that decides
// to drop.
package diff
