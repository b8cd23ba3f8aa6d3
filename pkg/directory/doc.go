// Package directory asks Microsoft Graph about the Entra objects behind a
// server's principals: whether each still exists, is enabled and has the
// name its role has (Lookup), and who is in each group, transitively
// (Members). It uses azcore's pipeline (bearer token, retries honouring
// Retry-After) and encoding/json, not the Graph SDK: two calls do not
// need a module of tens of megabytes.
//
// Every request goes through JSON batching ($batch, 20 requests a round
// trip); a request throttled inside a batch (429) is sent again in a later
// batch after its Retry-After; pages (@odata.nextLink) are batched too.
// A Client caches what it learned for the run: an object or a group is
// asked about once, whatever the number of servers that name it. Graph's
// refusal (403) becomes an error that names the permission the identity
// lacks. Its Go API is not yet stable.
package directory
