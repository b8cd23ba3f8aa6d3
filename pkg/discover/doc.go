// Package discover finds Azure Database for PostgreSQL flexible servers
// through Azure Resource Manager (ARM), for the `discover:` entries of the
// desired-state files, instead of listing each server by hand.
//
// Discover lists the servers of each Source's subscription or resource
// group with the Azure SDK's armpostgresqlflexibleservers module (API
// 2025-08-01), keeps those whose tags and names match, and reads each kept
// server's Microsoft Entra administrators, one ARM call per server, a
// bounded number at once. The result says, for every server, what pgusers
// needs before it connects: the host name, whether Entra authentication is
// on, and who may sign in as an Entra administrator (Server.Problems).
//
// ARM has no server-side tag filter for this API, so the tags and the name
// globs are matched here, on the listed servers. Paging (nextLink), retries
// and throttling (429 with Retry-After) are the SDK's and azcore's: this
// package adds none of its own. It only reads: it never registers resource
// providers or changes a server, so the Reader role on the subscription or
// resource group is enough.
//
// # Clouds
//
// Options.Cloud names the ARM endpoint and token audience; Sovereign gives
// the configuration for the cloud names of the files (public, usgovernment,
// china). The credential must sign in to the same cloud.
//
// # Errors
//
// A failed ARM call yields an *Error: one line naming the subscription,
// resource group or server, what to do (sign in, get the Reader role, check
// the id) and what ARM said. No error of this package contains a token.
//
// # Stability
//
// The Go API of this package is not yet stable: it may change while the
// discover feature settles.
package discover
