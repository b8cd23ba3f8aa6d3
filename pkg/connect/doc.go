// Package connect turns one server entry of the desired state into a live
// *pgx.Conn.
//
// It signs in the way the entry says: with a Microsoft Entra access token
// (auth: entra) fetched through azidentity for the server's cloud, or with a
// password from an environment variable (auth: password). It sets up TLS
// from sslmode and sslrootcert, so that a token, a bearer credential, is
// never sent to a server whose certificate was not verified unless the file
// explicitly weakens sslmode, and it makes every connection behave the same
// way for the packages that use it: application_name=pgusers, a connect
// timeout, and the exec query mode, in which a pgx.Batch is one round trip.
//
// # A token for every connection
//
// Access tokens live 5 to 60 minutes and the server checks one only when a
// connection opens, so a token is asked for at each connection attempt,
// after TLS is up and before the startup message (a pgconn AfterNetConnect
// hook), never once per run. Credentials, shared by every server of a run,
// hands out a cached token while it still has minutes to live and fetches a
// new one otherwise: a fleet in one cloud fetches one token, not one per
// server, and a run longer than a token's life keeps signing in.
//
// pgconn.Config.OAuthTokenProvider is not used: it serves the OAUTHBEARER
// SASL mechanism of PostgreSQL 18, while Azure Database for PostgreSQL takes
// the token as a plain password.
//
// # Errors
//
// A credential that gives no token, or a server that refuses the sign-in,
// yields a *SignInError: one line naming the server, the credential and what
// to do. No error of this package contains a token or a password.
package connect
