package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// SignInError is a sign-in that failed for a reason the user can act on:
// the Entra credential gave no token, or the server refused the token or the
// password. Its message is one line: the server, how pgusers signed in, what
// to do, and the first line of what was said.
type SignInError struct {
	Server string // the server entry's name
	User   string // the role signed in as
	// Credential is the Entra credential kind (default, azurecli, ...), or
	// "" for auth: password.
	Credential string
	// Refused is true when the server refused the sign-in, false when the
	// credential gave no token (and the server was sent nothing).
	Refused bool
	Hint    string // what to do
	Said    string // the first line of what Azure or the server said
	// Err is the cause: the credential's error, or the server's
	// *pgconn.PgError (for its SQLSTATE).
	Err error
}

func (e *SignInError) Error() string {
	var b strings.Builder
	said := "Azure said"
	switch {
	case !e.Refused:
		fmt.Fprintf(&b, "sign-in with Entra credential %q failed", e.Credential)
	case e.Credential != "":
		fmt.Fprintf(&b, "the server refused the Entra sign-in as %q (credential %q)", e.User, e.Credential)
		said = "the server said"
	default:
		fmt.Fprintf(&b, "the server refused the password sign-in as %q", e.User)
		said = "the server said"
	}
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	if e.Said != "" {
		fmt.Fprintf(&b, "; %s: %s", said, e.Said)
	}
	return b.String()
}

func (e *SignInError) Unwrap() error { return e.Err }

// credentialError explains why the credential of en gave no token.
func credentialError(sv server, en *entra, err error) *SignInError {
	e := &SignInError{Server: sv.label, User: sv.User, Credential: en.key.kind, Err: err, Said: azureSaid(err)}
	missing := func(names ...string) string {
		var unset []string
		for _, n := range names {
			if en.creds.getenv(n) == "" {
				unset = append(unset, n)
			}
		}
		if len(unset) == 0 {
			return ""
		}
		return " (not set: " + strings.Join(unset, ", ") + ")"
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e.Hint = "no token came within the connect timeout"
	case errors.Is(err, context.Canceled):
		e.Hint = "cancelled while waiting for a token"
	case en.key.kind == CredentialAzureCLI && strings.Contains(err.Error(), "not found on path"):
		e.Hint = `install the Azure CLI and run "az login" (or set credential: in the file)`
	case en.key.kind == CredentialAzureCLI:
		e.Hint = `run "az login" (or set credential: in the file)`
	case en.key.kind == CredentialManagedIdentity && en.key.clientID != "":
		e.Hint = fmt.Sprintf("assign the managed identity of client id %s to the Azure resource pgusers runs on (or set credential: in the file)", en.key.clientID)
	case en.key.kind == CredentialManagedIdentity:
		e.Hint = "run pgusers on an Azure resource that has a managed identity; for a user-assigned one set clientId: to its client id (or set credential: in the file)"
	case en.key.kind == CredentialWorkloadIdentity:
		e.Hint = "set AZURE_TENANT_ID, AZURE_CLIENT_ID (or clientId: in the file) and AZURE_FEDERATED_TOKEN_FILE, as the workload identity webhook does" +
			missing("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE")
	case en.key.kind == CredentialEnvironment:
		e.Hint = "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) for a service principal" +
			missing("AZURE_TENANT_ID", "AZURE_CLIENT_ID")
	default:
		e.Hint = `sign in with "az login", or run where a managed identity or workload identity is available, or choose one with credential: in the file`
	}
	return e
}

// azureSaid is the gist of a credential's error on one line. The errors of
// azidentity's credential chains (DefaultAzureCredential) say "failed to
// acquire a token." and then one tab-indented block per credential tried:
// the gist of each block is the gist.
func azureSaid(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	var blocks [][]string
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "\t\t") && len(blocks) > 0:
			blocks[len(blocks)-1] = append(blocks[len(blocks)-1], l)
		case strings.HasPrefix(l, "\t"):
			blocks = append(blocks, []string{l})
		}
	}
	if len(blocks) == 0 {
		return gist(lines)
	}
	gists := make([]string, len(blocks))
	for i, b := range blocks {
		gists[i] = gist(b)
	}
	return strings.Join(gists, "; ")
}

// gist is the first line of one credential's message, followed by the
// response status and body that an azidentity.AuthenticationFailedError
// shows on later lines, between rules of dashes.
func gist(lines []string) string {
	out := strings.TrimSpace(lines[0])
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "RESPONSE ") {
			continue
		}
		out += " " + l
		for _, body := range lines[i+1:] {
			body = strings.TrimSpace(body)
			if strings.Trim(body, "-") == "" {
				continue
			}
			if !strings.HasPrefix(body, "To troubleshoot") {
				out += ": " + shorten(body, 300)
			}
			break
		}
		break
	}
	return out
}

func shorten(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "..."
}

// Substrings of the FATALs with which Azure refuses a token.
const (
	fatalExpired   = "access token has expired"
	fatalAudience  = "valid audience claim"
	fatalTokenType = "AAD_AUTH_TOKENTYPE" // "... cannot generate AAD_AUTH_TOKENTYPE_APP_USER tokens for role[...]"
)

// refusedError explains why the server refused a sign-in, or returns nil when
// pgErr is not about signing in.
func refusedError(sv server, en *entra, pgErr *pgconn.PgError, passwordSet bool) *SignInError {
	msg := pgErr.Message
	e := &SignInError{Server: sv.label, User: sv.User, Refused: true, Err: pgErr, Said: firstLine(msg)}
	if en != nil {
		e.Credential = en.key.kind
	}
	signIn := strings.HasPrefix(pgErr.Code, "28")
	switch {
	case strings.Contains(msg, "pg_hba.conf"):
		e.Hint = "the server's pg_hba.conf admits no connection of this user, database and encryption from this address"
		if sv.SSLMode == SSLDisable || sv.SSLMode == SSLAllow {
			e.Hint += "; Azure requires TLS: use sslmode verify-full"
		}
	case en != nil && strings.Contains(msg, fatalExpired):
		e.Hint = "the token had expired when the server checked it: check this machine's clock (pgusers fetches a token for every connection)"
	case en != nil && strings.Contains(msg, fatalAudience):
		e.Hint = fmt.Sprintf("the token is for another resource (pgusers asked for %s): set cloud: in the file to the server's cloud (public, usgovernment or china)", en.cloud.scope())
	case en != nil && strings.Contains(msg, fatalTokenType):
		e.Hint = fmt.Sprintf("the credential signs in as another kind of principal than role %q is (user, group or service): set user: to the role of the identity the credential signs in as (a managed identity or service principal: its own role; a user: their UPN or a group of theirs)", sv.User)
	case !signIn:
		return nil
	case en != nil:
		e.Hint = fmt.Sprintf("role %q does not accept the token of credential %q: set user: to the name of a Microsoft Entra administrator of the server that this credential signs in as (a UPN, a group name or a managed identity's name)", sv.User, en.key.kind)
	case pgErr.Code == "28P01" && !passwordSet:
		e.Hint = fmt.Sprintf("$%s is empty: set it to the password of %q (or name another variable with passwordEnv: in the file)", sv.PasswordEnv, sv.User)
	case pgErr.Code == "28P01":
		e.Hint = fmt.Sprintf("$%s does not hold the password of %q", sv.PasswordEnv, sv.User)
	default:
		e.Hint = fmt.Sprintf("the server does not let %q sign in", sv.User)
	}
	return e
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
