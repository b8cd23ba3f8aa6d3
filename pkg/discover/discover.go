package discover

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	armpg "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/postgresql/armpostgresqlflexibleservers/v5"
)

// Source is one `discover:` entry of the files: where to look for servers
// and which of them to keep.
type Source struct {
	Subscription  string // required: the subscription id
	ResourceGroup string // optional: only this resource group
	// Tags, when given, must all be on a server for it to be kept. Values
	// match exactly; names match in any case, as ARM treats tag names.
	Tags map[string]string
	// Names, when given, are path.Match globs on the server name: a server
	// is kept when one of them matches.
	Names []string
}

// Server is one discovered server.
type Server struct {
	Name          string
	ResourceGroup string // as the server's resource id spells it
	Subscription  string // as the server's resource id spells it
	ID            string // the ARM resource id
	Location      string
	Version       string            // the PostgreSQL major version, such as "17"
	State         string            // as ARM says: Ready, Stopped, ...
	FQDN          string            // the host name to connect to
	Tags          map[string]string // nil when the server has none
	// EntraAuth is true when Microsoft Entra authentication is enabled
	// (authConfig.activeDirectoryAuth is Enabled).
	EntraAuth bool
	// PasswordAuth is true when password authentication is enabled
	// (authConfig.passwordAuth is Enabled).
	PasswordAuth bool
	TenantID     string // the Entra tenant of authConfig
	// Admins are the server's Microsoft Entra administrators, sorted by
	// name.
	Admins []Admin
}

// Admin is one Microsoft Entra administrator of a server.
type Admin struct {
	Name     string // the principal name: the role name to sign in as
	Type     string // AdminUser, AdminGroup, AdminServicePrincipal or AdminUnknown
	ObjectID string
	TenantID string
}

// The kinds of Admin.Type: ARM's principalType in pgusers' spelling.
const (
	AdminUser             = "user"
	AdminGroup            = "group"
	AdminServicePrincipal = "servicePrincipal"
	AdminUnknown          = "unknown"
)

// DefaultParallel is how many administrator list calls Discover makes at
// once unless Options.Parallel says otherwise.
const DefaultParallel = 8

// Options configures Discover. The zero value talks to the public cloud
// with azcore's default transport and retries.
type Options struct {
	// Cloud gives the ARM endpoint and token audience
	// (Services[cloud.ResourceManager]); the zero value is the public
	// cloud. See Sovereign.
	Cloud cloud.Configuration
	// Transport sends the HTTP requests; nil is azcore's default. Tests
	// set a fake endpoint's client.
	Transport policy.Transporter
	// Retry overrides azcore's retry options (3 retries, exponential
	// delays from 800ms, Retry-After honoured up to MaxRetryDelay, 60s).
	Retry policy.RetryOptions
	// Parallel is how many ARM calls Discover makes at once; 0 means
	// DefaultParallel.
	Parallel int
}

// Discover lists the servers of every source, keeps those that match the
// source's tags and names, and reads the Entra administrators of each. A
// server that several sources match appears once. The servers are sorted
// by name, then subscription.
//
// cred is asked for tokens of the cloud's ARM audience + "/.default"; it
// must be able to read the servers and their administrators (the Reader
// role on each subscription or resource group). When a listing fails,
// Discover returns the errors of every failed source; when an
// administrator list fails, it stops and returns that error. ARM errors
// are *Error.
func Discover(ctx context.Context, cred azcore.TokenCredential, sources []Source, opts Options) ([]Server, error) {
	if cred == nil {
		return nil, errors.New("discover: no credential")
	}
	for i, s := range sources {
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("discover: source %d: %w", i+1, err)
		}
	}
	if len(sources) == 0 {
		return nil, nil
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	clientOpts := &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud:     opts.Cloud,
			Transport: opts.Transport,
			Retry:     opts.Retry,
			Telemetry: policy.TelemetryOptions{ApplicationID: "pgusers"},
		},
		// Discovery only reads; registering a resource provider is a
		// write the Reader role may not make, and not pgusers' to do.
		DisableRPRegistration: true,
	}

	scopes, err := newScopes(sources, markedCredential{cred}, clientOpts)
	if err != nil {
		return nil, err
	}
	listErrs, _ := forEach(ctx, len(scopes), parallel, false, func(ctx context.Context, i int) error {
		return scopes[i].list(ctx)
	})
	if err := errors.Join(listErrs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	kept, err := keep(sources, scopes)
	if err != nil {
		return nil, err
	}
	_, err = forEach(ctx, len(kept), parallel, true, func(ctx context.Context, i int) error {
		return kept[i].readAdmins(ctx)
	})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	servers := make([]Server, len(kept))
	for i, k := range kept {
		servers[i] = k.Server
	}
	slices.SortFunc(servers, func(a, b Server) int {
		return cmp.Or(
			strings.Compare(a.Name, b.Name),
			strings.Compare(strings.ToLower(a.Subscription), strings.ToLower(b.Subscription)),
			strings.Compare(strings.ToLower(a.ID), strings.ToLower(b.ID)),
		)
	})
	return servers, nil
}

// check reports what is wrong with the source before any call is made.
func (s Source) check() error {
	if s.Subscription == "" {
		return errors.New("no subscription")
	}
	for _, g := range s.Names {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("name glob %q: %w", g, err)
		}
	}
	return nil
}

// matches reports whether a listed server passes the source's filters.
func (s Source) matches(name string, tags map[string]*string) bool {
	for k, want := range s.Tags {
		found := false
		for tk, tv := range tags {
			if strings.EqualFold(tk, k) && tv != nil && *tv == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if len(s.Names) == 0 {
		return true
	}
	for _, g := range s.Names {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// scope is one listing call: a subscription, or a resource group of it.
// Sources with the same scope share its listing.
type scope struct {
	sub, rg string
	client  *armpg.ClientFactory
	servers []*armpg.Server // listed
}

// newScopes returns the distinct scopes of the sources, with one client
// factory per subscription, so that each subscription's calls share one
// pipeline and so one cached token.
func newScopes(sources []Source, cred azcore.TokenCredential, opts *arm.ClientOptions) ([]*scope, error) {
	factories := make(map[string]*armpg.ClientFactory)
	seen := make(map[[2]string]bool)
	var scopes []*scope
	for _, s := range sources {
		key := [2]string{strings.ToLower(s.Subscription), strings.ToLower(s.ResourceGroup)}
		if seen[key] {
			continue
		}
		seen[key] = true
		f := factories[key[0]]
		if f == nil {
			var err error
			f, err = armpg.NewClientFactory(s.Subscription, cred, opts)
			if err != nil {
				return nil, fmt.Errorf("discover: subscription %s: %w", s.Subscription, err)
			}
			factories[key[0]] = f
		}
		scopes = append(scopes, &scope{sub: s.Subscription, rg: s.ResourceGroup, client: f})
	}
	return scopes, nil
}

func (sc *scope) covers(s Source) bool {
	return strings.EqualFold(sc.sub, s.Subscription) && strings.EqualFold(sc.rg, s.ResourceGroup)
}

// list reads every page of the scope's servers.
func (sc *scope) list(ctx context.Context) error {
	c := sc.client.NewServersClient()
	var err error
	if sc.rg == "" {
		sc.servers, err = drain(ctx, c.NewListBySubscriptionPager(nil), func(p armpg.ServersClientListBySubscriptionResponse) []*armpg.Server { return p.Value })
	} else {
		sc.servers, err = drain(ctx, c.NewListByResourceGroupPager(sc.rg, nil), func(p armpg.ServersClientListByResourceGroupResponse) []*armpg.Server { return p.Value })
	}
	if err != nil {
		return newError(err, opListServers, sc.sub, sc.rg, "")
	}
	return nil
}

// drain collects the values of every page of p.
func drain[P, V any](ctx context.Context, p *runtime.Pager[P], values func(P) []*V) ([]*V, error) {
	var all []*V
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, values(page)...)
	}
	return all, nil
}

// found is a kept server and the client to read its administrators with.
type found struct {
	Server
	client *armpg.ClientFactory
}

// keep returns the listed servers that a source of their scope matches,
// each once, in listing order.
func keep(sources []Source, scopes []*scope) ([]*found, error) {
	var kept []*found
	byID := make(map[string]bool)
	for _, sc := range scopes {
		for _, s := range sources {
			if !sc.covers(s) {
				continue
			}
			for _, as := range sc.servers {
				if as == nil || as.Name == nil || !s.matches(*as.Name, as.Tags) {
					continue
				}
				srv, err := convert(as, sc.sub)
				if err != nil {
					return nil, err
				}
				id := strings.ToLower(srv.ID)
				if byID[id] {
					continue
				}
				byID[id] = true
				kept = append(kept, &found{Server: srv, client: sc.client})
			}
		}
	}
	return kept, nil
}

// convert turns ARM's server into a Server without its administrators.
func convert(as *armpg.Server, sub string) (Server, error) {
	s := Server{
		Name:     deref(as.Name),
		ID:       deref(as.ID),
		Location: deref(as.Location),
	}
	rid, err := arm.ParseResourceID(s.ID)
	if err != nil || rid.ResourceGroupName == "" {
		return Server{}, fmt.Errorf("discover: subscription %s: server %s: ARM gave no usable resource id (%q)", sub, s.Name, s.ID)
	}
	s.Subscription = cmp.Or(rid.SubscriptionID, sub)
	s.ResourceGroup = rid.ResourceGroupName
	if len(as.Tags) > 0 {
		s.Tags = make(map[string]string, len(as.Tags))
		for k, v := range as.Tags {
			s.Tags[k] = deref(v)
		}
	}
	if p := as.Properties; p != nil {
		s.FQDN = deref(p.FullyQualifiedDomainName)
		s.Version = string(deref(p.Version))
		s.State = string(deref(p.State))
		if a := p.AuthConfig; a != nil {
			s.EntraAuth = strings.EqualFold(string(deref(a.ActiveDirectoryAuth)), string(armpg.MicrosoftEntraAuthEnabled))
			s.PasswordAuth = strings.EqualFold(string(deref(a.PasswordAuth)), string(armpg.PasswordBasedAuthEnabled))
			s.TenantID = deref(a.TenantID)
		}
	}
	return s, nil
}

// readAdmins lists the server's Entra administrators.
func (f *found) readAdmins(ctx context.Context) error {
	c := f.client.NewAdministratorsMicrosoftEntraClient()
	list, err := drain(ctx, c.NewListByServerPager(f.ResourceGroup, f.Name, nil), func(p armpg.AdministratorsMicrosoftEntraClientListByServerResponse) []*armpg.AdministratorMicrosoftEntra {
		return p.Value
	})
	if err != nil {
		return newError(err, opListAdmins, f.Subscription, f.ResourceGroup, f.Name)
	}
	admins := make([]Admin, 0, len(list))
	for _, a := range list {
		if a == nil {
			continue
		}
		ad := Admin{ObjectID: deref(a.Name), Type: AdminUnknown}
		if p := a.Properties; p != nil {
			ad.Name = deref(p.PrincipalName)
			ad.Type = adminType(deref(p.PrincipalType))
			ad.ObjectID = cmp.Or(deref(p.ObjectID), ad.ObjectID)
			ad.TenantID = deref(p.TenantID)
		}
		admins = append(admins, ad)
	}
	slices.SortFunc(admins, func(a, b Admin) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ObjectID, b.ObjectID))
	})
	f.Admins = admins
	return nil
}

// adminType spells ARM's principal type as Admin.Type does.
func adminType(t armpg.PrincipalType) string {
	for _, k := range []string{AdminUser, AdminGroup, AdminServicePrincipal} {
		if strings.EqualFold(string(t), k) {
			return k
		}
	}
	return AdminUnknown
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// forEach calls fn for 0..n-1 with at most limit calls at once and returns
// their errors by index. With failFast the first error cancels the context
// of the others, which then stop, and is returned as first.
func forEach(ctx context.Context, n, limit int, failFast bool, fn func(context.Context, int) error) (errs []error, first error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs = make([]error, n)
	var (
		next atomic.Int64
		once sync.Once
		wg   sync.WaitGroup
	)
	for range min(limit, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					errs[i] = err
					once.Do(func() { first = err })
					if failFast {
						cancel()
					}
				}
			}
		})
	}
	wg.Wait()
	return errs, first
}
