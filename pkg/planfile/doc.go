// Package planfile is the saved-plan format: what plan --out writes and
// apply PLANFILE reads (docs/plan-file.md).
//
// A plan file is JSON:
//
//	{
//	  "pgusersPlan": 2,
//	  "checksum": "sha256:...",
//	  "plan": { ... }
//	}
//
// "plan" holds the report plan printed and, per server, what was planned
// (the desired server entry: its connection settings and principals, never
// a password or a token) and the state it was planned from, with its
// fingerprint. The checksum, a sha256 of "plan" in compact form, catches a
// file truncated or damaged in transit; it is not a signature.
//
// So Open trusts nothing in the file it can derive: it computes each
// server's plan again from the recorded desired and observed state, with
// the code that made it, and refuses the file unless the result is the
// recorded plan, statement for statement. The statements apply runs are
// always pgusers' own, never SQL text taken from a file.
//
// The Go API is not yet stable: it serves the pgusers command.
package planfile
