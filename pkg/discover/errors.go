package discover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// The operations an Error names.
const (
	opListServers = "listing PostgreSQL flexible servers"
	opListAdmins  = "listing the Microsoft Entra administrators"
)

// signIn is what to do when ARM refuses the credential.
const signIn = `sign in again ("az login", or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE for workload identity) and check that the cloud is the account's`

// Error is an ARM call of Discover that failed. Its message is one line:
// where (subscription, resource group, server), what was being done, what
// to do, and what ARM said. It never holds a token.
type Error struct {
	Subscription  string
	ResourceGroup string // "" for a subscription's listing
	Server        string // "" for a listing
	Op            string // what was being done, such as "listing PostgreSQL flexible servers"
	// StatusCode and Code are ARM's answer (403, "AuthorizationFailed"),
	// zero when no answer came.
	StatusCode int
	Code       string
	Hint       string // what to do
	Said       string // ARM's error message, one line
	// Err is the cause: an *azcore.ResponseError, the credential's error or
	// the transport's.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.where())
	b.WriteString(": ")
	b.WriteString(e.Op)
	switch {
	case e.Hint != "":
		b.WriteString(": ")
		b.WriteString(e.Hint)
	case e.Err != nil:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (%d", e.StatusCode)
		if e.Code != "" {
			b.WriteString(" ")
			b.WriteString(e.Code)
		}
		b.WriteString(")")
	}
	if e.Said != "" {
		b.WriteString("; Azure said: ")
		b.WriteString(e.Said)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// where names the subscription, resource group and server of the call.
func (e *Error) where() string {
	s := "subscription " + e.Subscription
	if e.ResourceGroup != "" {
		s += ", resource group " + e.ResourceGroup
	}
	if e.Server != "" {
		s += ", server " + e.Server
	}
	return s
}

// newError explains err, the failure of op on the scope or server given.
func newError(err error, op, sub, rg, server string) error {
	e := &Error{Subscription: sub, ResourceGroup: rg, Server: server, Op: op, Err: err}
	var re *azcore.ResponseError
	var te *tokenError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// Err says which.
	case errors.As(err, &te):
		e.Hint = "getting a token for Azure Resource Manager failed: " + signIn + "; the credential said: " + oneLine(te.Err.Error(), 600)
	case errors.As(err, &re):
		e.StatusCode, e.Code = re.StatusCode, re.ErrorCode
		e.Said = armSaid(re)
		e.Hint = hint(re, sub, rg, server)
	}
	return e
}

func hint(re *azcore.ResponseError, sub, rg, server string) string {
	switch re.StatusCode {
	case http.StatusUnauthorized:
		return "Azure Resource Manager refused the credential: " + signIn
	case http.StatusForbidden:
		what := "subscription"
		if rg != "" {
			what = "subscription or resource group"
		}
		return fmt.Sprintf("access denied: the signed-in identity needs the Reader role on the %s (or a role with Microsoft.DBforPostgreSQL/flexibleServers/read and flexibleServers/administrators/read)", what)
	case http.StatusNotFound:
		switch {
		case strings.EqualFold(re.ErrorCode, "SubscriptionNotFound"):
			return fmt.Sprintf("subscription %s was not found: check the id and that the signed-in account's tenant holds it", sub)
		case strings.EqualFold(re.ErrorCode, "ResourceGroupNotFound"):
			return fmt.Sprintf("resource group %s was not found in subscription %s: check its name", rg, sub)
		case server != "":
			return fmt.Sprintf("server %s was not found: it may have been deleted or moved while discovering; run again", server)
		case rg != "":
			return fmt.Sprintf("subscription %s or its resource group %s was not found: check both", sub, rg)
		default:
			return fmt.Sprintf("subscription %s was not found: check the id", sub)
		}
	case http.StatusTooManyRequests:
		return "Azure Resource Manager is throttling and the retries ran out: try again later, or with fewer calls at once"
	}
	return "Azure Resource Manager answered " + statusText(re)
}

func statusText(re *azcore.ResponseError) string {
	if t := http.StatusText(re.StatusCode); t != "" {
		return t
	}
	return "an error"
}

// armSaid is the message of ARM's error body ({"error": {"message"}}),
// on one line and cut short.
func armSaid(re *azcore.ResponseError) string {
	if re.RawResponse == nil {
		return ""
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil || len(body) == 0 {
		return ""
	}
	var v struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return oneLine(v.Error.Message, 400)
}

// oneLine puts s on one line, cut after about n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// tokenError marks the credential's failures, so that they can be told from
// ARM's answers. It is non-retriable, as azcore makes credential errors, so
// that azcore passes it on as it is.
type tokenError struct{ Err error }

func (e *tokenError) Error() string { return e.Err.Error() }
func (e *tokenError) Unwrap() error { return e.Err }
func (e *tokenError) NonRetriable() {}

// markedCredential wraps the caller's credential to mark its errors.
type markedCredential struct{ azcore.TokenCredential }

func (c markedCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, opts)
	if err != nil && ctx.Err() == nil {
		return tok, &tokenError{Err: err}
	}
	return tok, err
}
