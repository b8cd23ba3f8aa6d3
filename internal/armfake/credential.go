package armfake

import (
	"context"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Token is the access token Credential hands out and the fake ARM expects
// as the bearer. Tests check that no error or output contains it.
const Token = "fake-arm-token-s3cr3t"

// Credential is an azcore.TokenCredential standing for an azidentity
// credential: it hands out Token, an hour long, for any scope, and records
// the scopes it is asked for. It is safe for concurrent use.
type Credential struct {
	// Err, when set before the credential is used, is what GetToken
	// returns instead of a token.
	Err error

	mu     sync.Mutex
	calls  int
	scopes []string
}

// GetToken records the scopes asked for and returns Token, or Err.
func (c *Credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.scopes = append(c.scopes, opts.Scopes...)
	if c.Err != nil {
		return azcore.AccessToken{}, c.Err
	}
	return azcore.AccessToken{Token: Token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// Calls is how many times GetToken was called.
func (c *Credential) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// Scopes are the scopes GetToken was asked for, in order, one per scope of
// each call.
func (c *Credential) Scopes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.scopes...)
}
