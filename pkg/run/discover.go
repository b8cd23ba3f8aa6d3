package run

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pgusers/pgusers/pkg/discover"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/spec"
)

// ARM is how discovery reaches Azure Resource Manager. The zero value is
// Azure itself; tests point Cloud and Transport at a fake.
type ARM struct {
	// Cloud, when it names a Resource Manager endpoint, replaces the
	// clouds of every discover entry.
	Cloud     cloud.Configuration
	Transport policy.Transporter
	Retry     policy.RetryOptions
	Parallel  int
}

// Fleet is a desired state's servers with those Azure Resource Manager
// found added, and what Azure says of each found server.
type Fleet struct {
	// Azure holds what Resource Manager says of each server it found, by
	// name: location, version, tags, Entra administrators.
	Azure map[string]discover.Server
	// Unusable are the servers Azure says cannot be signed in to as the
	// files say (Entra authentication off, the user not an Entra
	// administrator, the server stopped), with why: they are reported
	// failed without a connection.
	Unusable map[string]error
}

// Discover asks Azure Resource Manager for the servers of d's discover
// entries, one entry at a time (each server found belongs to one entry),
// with the credential the entry's servers sign in with, and adds them to d
// (spec.Desired.AddDiscovered). A desired state without discover entries
// costs nothing.
func Discover(ctx context.Context, d *spec.Desired, cfg Config, arm ARM) (Fleet, error) {
	fleet := Fleet{Azure: map[string]discover.Server{}, Unusable: map[string]error{}}
	if len(d.Discover) == 0 {
		return fleet, nil
	}
	var found []spec.Found
	for i, src := range d.Discover {
		t := src.Template
		cloudName := src.Cloud
		if cloudName == "" {
			cloudName = "public"
		}
		cred, err := cfg.Connect.Credentials.ForResourceManager(t.Credential, t.ClientID, cloudName)
		if err != nil {
			return fleet, fmt.Errorf("discover entry at %s: %w", src.Pos, err)
		}
		opts := discover.Options{Transport: arm.Transport, Retry: arm.Retry, Parallel: arm.Parallel}
		if _, ok := arm.Cloud.Services[cloud.ResourceManager]; ok {
			opts.Cloud = arm.Cloud
		} else if opts.Cloud, err = discover.Sovereign(cloudName); err != nil {
			return fleet, fmt.Errorf("discover entry at %s: %w", src.Pos, err)
		}
		servers, err := discover.Discover(ctx, cred, []discover.Source{{Subscription: src.Subscription,
			ResourceGroup: src.ResourceGroup, Tags: src.Tags, Names: src.Names}}, opts)
		if err != nil {
			return fleet, fmt.Errorf("discover entry at %s: %w", src.Pos, err)
		}
		for _, s := range servers {
			found = append(found, spec.Found{Source: i, Name: s.Name, Host: s.FQDN, Cloud: cloudName})
			fleet.Azure[s.Name] = s
		}
		cfg.Log.Debug("discovered", "entry", src.Pos.String(), "servers", len(servers))
	}
	if err := d.AddDiscovered(found); err != nil {
		return fleet, err
	}
	for _, s := range d.Servers {
		az, ok := fleet.Azure[s.Name]
		if !ok || s.Auth != spec.AuthEntra {
			continue
		}
		if problems := az.Problems(s.User); len(problems) > 0 {
			fleet.Unusable[s.Name] = &UnusableError{Problems: problems}
		}
	}
	return fleet, nil
}

// UnusableError is what Azure Resource Manager says keeps a server from
// being signed in to: nothing was tried.
type UnusableError struct {
	Problems []string
}

// Unusable marks the error for report.Kind (a sign-in problem) without
// the report importing this package.
func (e *UnusableError) Unusable() {}

func (e *UnusableError) Error() string {
	return "Azure says it cannot be signed in to, so pgusers did not try: " + strings.Join(e.Problems, "; ")
}

// Describe is how pgusers servers lists servers: where each came from, and
// for a server discovery found, what Azure says of it and why it cannot be
// signed in to.
func (f Fleet) Describe(servers []spec.Server) []report.FleetServer {
	out := make([]report.FleetServer, 0, len(servers))
	for _, s := range servers {
		fs := report.FleetServer{Name: s.Name, Host: s.Host, Port: s.Port, Source: "listed", User: s.User}
		if az, ok := f.Azure[s.Name]; ok {
			entra := az.EntraAuth
			fs.Source, fs.Location, fs.Version, fs.State, fs.Tags, fs.EntraAuth = "discovered", az.Location, az.Version, az.State, az.Tags, &entra
			for _, a := range az.Admins {
				fs.Admins = append(fs.Admins, report.FleetAdmin{Name: a.Name, Type: a.Type, ObjectID: a.ObjectID})
			}
		}
		if u, ok := f.Unusable[s.Name].(*UnusableError); ok {
			fs.Problems = u.Problems
		}
		out = append(out, fs)
	}
	return out
}
