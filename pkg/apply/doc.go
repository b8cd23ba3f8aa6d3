// Package apply reads a server's Entra principals and runs plans on it.
//
// Inspect reads everything a plan needs in one round trip, including what
// each principal owns or holds in every database (counted, from the shared
// catalog pg_shdepend). Describe names those objects, connecting to other
// databases only when a plan drops a principal that has some there.
//
// Apply runs a plan in one transaction under an advisory lock: it reads the
// server again under the lock, refuses a plan whose server changed since it
// was made, sends every statement in one pipeline and commits only if all
// of them succeed. The one exception is a plan with Cleanups, which hand
// over what dropped principals own in other databases: each runs and
// commits in its own database first, since no transaction spans two
// databases, and the order keeps every principal in place until the main
// transaction drops it (see Apply). Rehearse does the same and rolls
// everything back, to prove a plan would apply without leaving anything
// behind.
package apply
