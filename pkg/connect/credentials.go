package connect

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// The credential kinds a file may name (credential:).
const (
	CredentialDefault          = "default"
	CredentialAzureCLI         = "azurecli"
	CredentialManagedIdentity  = "managedidentity"
	CredentialWorkloadIdentity = "workloadidentity"
	CredentialEnvironment      = "environment"
)

// minTokenLife is how long a cached token must still live to be sent. The
// server checks a token only when a connection opens, which takes seconds;
// the margin also absorbs some clock skew, as azcore's bearer token policy
// does with the same figure.
const minTokenLife = 5 * time.Minute

// Credentials is what the connections of one run share to sign in with Entra
// ID: one azcore.TokenCredential per credential kind, client id and cloud,
// created on first use, and the last token each gave. It is safe for
// concurrent use.
//
// A connection asks it for a token each time it opens. The cached token is
// handed out while it lives longer than five minutes (and azidentity has not
// asked for it to be refreshed); otherwise one caller fetches a new one while
// the others asking for the same token wait. Some credentials cache tokens
// themselves, but the Azure CLI credential runs "az" at every call, one call
// at a time: without this cache a fleet would run it once per server.
//
// It also remembers the servers already warned about a weak sslmode, so a
// run warns once per server however often it connects.
type Credentials struct {
	getenv func(string) string
	// fixed, when set, stands for every kind (NewCredentialsWith).
	fixed azcore.TokenCredential
	now   func() time.Time

	mu      sync.Mutex
	sources map[sourceKey]*tokenSource
	warned  map[string]bool

	fetches atomic.Int64
}

type sourceKey struct {
	kind, clientID, cloud string
}

type tokenSource struct {
	// lock is held, as a one-slot channel so that waiting can be cancelled,
	// while the credential is made or a token fetched.
	lock  chan struct{}
	cred  azcore.TokenCredential
	token azcore.AccessToken
}

// NewCredentials returns the credentials of a run, made with azidentity as
// servers need them. getenv (nil: os.Getenv) supplies the workload identity
// variables (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE)
// and names the missing ones when a credential fails; the other credentials
// read the process environment themselves.
func NewCredentials(getenv func(string) string) *Credentials {
	if getenv == nil {
		getenv = os.Getenv
	}
	return &Credentials{getenv: getenv, now: time.Now}
}

// NewCredentialsWith returns credentials that use c for every credential
// kind, client id and cloud: tests give it a fake.
func NewCredentialsWith(c azcore.TokenCredential) *Credentials {
	cs := NewCredentials(nil)
	cs.fixed = c
	return cs
}

// TokenFetches is how many tokens the run asked its azcore credentials for:
// one per credential and cloud in a run shorter than a token's life, not one
// per server.
func (c *Credentials) TokenFetches() int {
	return int(c.fetches.Load())
}

// token returns an access token for the PostgreSQL servers of cloud cl from
// the credential of key.
func (c *Credentials) token(ctx context.Context, key sourceKey, cl azureCloud) (string, error) {
	src := c.source(key)
	select {
	case src.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-src.lock }()

	if fresh(src.token, c.now()) {
		return src.token.Token, nil
	}
	if src.cred == nil {
		cred, err := c.newCredential(key, cl)
		if err != nil {
			return "", err
		}
		src.cred = cred
	}
	c.fetches.Add(1)
	tok, err := src.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{cl.scope()}})
	if err != nil {
		return "", err
	}
	if tok.Token == "" {
		return "", fmt.Errorf("%T returned an empty token", src.cred)
	}
	src.token = tok
	return tok.Token, nil
}

func (c *Credentials) source(key sourceKey) *tokenSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sources == nil {
		c.sources = make(map[sourceKey]*tokenSource)
	}
	src, ok := c.sources[key]
	if !ok {
		src = &tokenSource{lock: make(chan struct{}, 1)}
		c.sources[key] = src
	}
	return src
}

// firstWarning reports whether server has not been warned about yet, and
// remembers that it now has.
func (c *Credentials) firstWarning(server string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.warned[server] {
		return false
	}
	if c.warned == nil {
		c.warned = make(map[string]bool)
	}
	c.warned[server] = true
	return true
}

func fresh(t azcore.AccessToken, now time.Time) bool {
	if t.Token == "" {
		return false
	}
	if !t.RefreshOn.IsZero() && !now.Before(t.RefreshOn) {
		return false
	}
	return t.ExpiresOn.Sub(now) > minTokenLife
}

func (c *Credentials) newCredential(key sourceKey, cl azureCloud) (azcore.TokenCredential, error) {
	if c.fixed != nil {
		return c.fixed, nil
	}
	client := azcore.ClientOptions{Cloud: cl.authority}
	switch key.kind {
	case CredentialDefault:
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: client})
	case CredentialAzureCLI:
		return azidentity.NewAzureCLICredential(nil)
	case CredentialManagedIdentity:
		opts := &azidentity.ManagedIdentityCredentialOptions{}
		if key.clientID != "" {
			opts.ID = azidentity.ClientID(key.clientID)
		}
		return azidentity.NewManagedIdentityCredential(opts)
	case CredentialWorkloadIdentity:
		clientID := key.clientID
		if clientID == "" {
			clientID = c.getenv("AZURE_CLIENT_ID")
		}
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: client,
			ClientID:      clientID,
			TenantID:      c.getenv("AZURE_TENANT_ID"),
			TokenFilePath: c.getenv("AZURE_FEDERATED_TOKEN_FILE"),
		})
	case CredentialEnvironment:
		return azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: client})
	}
	return nil, fmt.Errorf("unknown credential %q", key.kind)
}

// credentialKey checks the credential kind and client id of a server entry
// and returns the key of its token source.
func credentialKey(kind, clientID string, cl azureCloud) (sourceKey, error) {
	switch kind {
	case "":
		kind = CredentialDefault
	case CredentialDefault, CredentialAzureCLI, CredentialManagedIdentity, CredentialWorkloadIdentity, CredentialEnvironment:
	default:
		return sourceKey{}, fmt.Errorf("unknown credential %q: use default, azurecli, managedidentity, workloadidentity or environment", kind)
	}
	if clientID != "" && kind != CredentialManagedIdentity && kind != CredentialWorkloadIdentity {
		return sourceKey{}, fmt.Errorf("clientId is for credential managedidentity or workloadidentity, not %s (the default credential reads AZURE_CLIENT_ID)", kind)
	}
	return sourceKey{kind: kind, clientID: clientID, cloud: cl.name}, nil
}

// ForResourceManager returns the credential of kind and clientID (as a
// server entry names them) for Azure Resource Manager in cloud (public,
// usgovernment, china): the same credential that signs in to servers, so
// that a run asks for one sign-in, and azidentity caches its tokens per
// scope. Every token it gives counts in TokenFetches.
func (c *Credentials) ForResourceManager(kind, clientID, cloud string) (azcore.TokenCredential, error) {
	cl, err := cloudOf("", cloud)
	if err != nil {
		return nil, err
	}
	key, err := credentialKey(kind, clientID, cl)
	if err != nil {
		return nil, err
	}
	return armCredential{c: c, key: key, cloud: cl}, nil
}

// armCredential is a source's credential asked for other scopes than the
// PostgreSQL servers'.
type armCredential struct {
	c     *Credentials
	key   sourceKey
	cloud azureCloud
}

func (a armCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	src := a.c.source(a.key)
	select {
	case src.lock <- struct{}{}:
	case <-ctx.Done():
		return azcore.AccessToken{}, ctx.Err()
	}
	if src.cred == nil {
		cred, err := a.c.newCredential(a.key, a.cloud)
		if err != nil {
			<-src.lock
			return azcore.AccessToken{}, err
		}
		src.cred = cred
	}
	cred := src.cred
	<-src.lock
	a.c.fetches.Add(1)
	return cred.GetToken(ctx, opts)
}
