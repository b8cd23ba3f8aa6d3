// Package run plans and applies a fleet: for each server it signs in,
// reads, computes the plan, and later applies it, on a bounded pool of
// workers, each server with its own timeout and its own bounded retries,
// and records how each one ended (Target). The report package turns the
// targets into what the command prints.
//
// The Go API is not yet stable: it serves the pgusers command.
package run
