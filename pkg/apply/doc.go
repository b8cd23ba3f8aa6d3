// Package apply reads a server's Entra principals and runs plans on it.
//
// Inspect reads everything a plan needs in one round trip. Apply runs a
// plan in one transaction under an advisory lock: it reads the server again
// under the lock, refuses a plan whose server changed since it was made,
// sends every statement in one pipeline and commits only if all of them
// succeed. Rehearse does the same and rolls back, to prove a plan would
// apply without leaving anything behind.
package apply
