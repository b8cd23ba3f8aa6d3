// Package armfake gives tests a local Azure Resource Manager (ARM) endpoint
// serving the two calls of Azure Database for PostgreSQL flexible servers
// that discovery makes, so that pkg/discover and pkg/run can be tested
// without Azure. It is for tests only, as internal/pgtest is.
//
// Start runs the fake on an httptest.NewTLSServer for one test and closes it
// when the test ends. It answers, for API version 2025-08-01 with JSON
// shaped as the SDK's models_serde.go reads it:
//
//   - GET /subscriptions/{sub}/providers/Microsoft.DBforPostgreSQL/flexibleServers
//     and the same under /resourceGroups/{rg}: the servers, Options.PageSize a
//     page, each page but the last with a nextLink;
//   - GET .../flexibleServers/{name}/administrators: the server's Microsoft
//     Entra administrators.
//
// An unknown subscription is 404 SubscriptionNotFound, an unknown resource
// group 404 ResourceGroupNotFound, an unknown server 404 ResourceNotFound,
// as ARM says them. Every request must carry api-version 2025-08-01 and the
// bearer token Credential hands out; any other request is answered 400 and
// fails the test when it ends.
//
// Point an azcore client at the fake with Cloud (its endpoint and the
// audience Audience) and Transport (a client that trusts its certificate),
// and give it a *Credential, which records the scopes it is asked for.
// Fail queues replies a path gets before its normal answer (429 with
// Retry-After, 403 AuthorizationFailed, 401 ...); Hits and Requests count
// what was asked.
package armfake
