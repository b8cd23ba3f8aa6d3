// Package apply runs plans on a server.
//
// Run applies a plan in one transaction under an advisory lock: it reads the
// server again under the lock, refuses a plan whose server changed since it
// was made, sends every statement in one pipeline and commits only if all
// of them succeed. The one exception is a plan with Cleanups, which hand
// over what dropped principals own in other databases: each runs and
// commits in its own database first, since no transaction spans two
// databases, and the order keeps every principal in place until the main
// transaction drops it (see Run). A plan that changes privileges in other
// databases runs as a sequence of transactions. Steps lays
// out the transactions once, for apply and for a dry run alike. How each
// ends is the Executor's: Commit applies, Rollback rehearses, to prove a
// plan would apply without leaving anything behind.
//
// The Go API is not yet stable: it serves the pgusers command.
package apply
