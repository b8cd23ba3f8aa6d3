package run

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pgusers/pgusers/pkg/access"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/directory"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Graph is how a run reaches Microsoft Graph: Azure's, or a fake in tests.
type Graph struct {
	// Endpoint, when set, replaces every cloud's Graph endpoint.
	Endpoint  string
	Transport policy.Transporter
	Retry     *policy.RetryOptions
}

// directories are the run's Graph clients, one per credential and cloud,
// so that what one server asked is not asked again for another.
type directories struct {
	graph Graph
	creds *connect.Credentials
	mu    sync.Mutex
	byKey map[string]*directory.Client
}

func newDirectories(cfg Config) *directories {
	return &directories{graph: cfg.Graph, creds: cfg.Connect.Credentials, byKey: map[string]*directory.Client{}}
}

// client is the Graph client for server s.
func (d *directories) client(s spec.Server) (*directory.Client, error) {
	cloud, err := connect.CloudName(s.Host, s.Cloud)
	if err != nil {
		return nil, err
	}
	key := strings.Join([]string{s.Credential, s.ClientID, cloud}, "\x00")
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.byKey[key]; c != nil {
		return c, nil
	}
	if d.creds == nil {
		return nil, fmt.Errorf("Microsoft Graph: no credentials to sign in with")
	}
	cred, err := d.creds.ForGraph(s.Credential, s.ClientID, cloud)
	if err != nil {
		return nil, err
	}
	endpoint := d.graph.Endpoint
	if endpoint == "" {
		endpoint = directory.Endpoints[cloud]
	}
	c := directory.New(cred, directory.Options{Endpoint: endpoint, Transport: d.graph.Transport, Retry: d.graph.Retry})
	d.byKey[key] = c
	return c, nil
}

// lookUp asks Graph about the Entra principals of a server read for a
// review, and with members about the groups' members too.
func (d *directories) lookUp(ctx context.Context, s spec.Server, read access.Server, members bool) (*access.Directory, error) {
	c, err := d.client(s)
	if err != nil {
		return nil, err
	}
	var ids, groups []string
	for _, p := range read.Principals {
		if p.ObjectID == "" {
			continue
		}
		ids = append(ids, p.ObjectID)
		if p.Type == string(spec.Group) {
			groups = append(groups, p.ObjectID)
		}
	}
	dir := &access.Directory{}
	if dir.Objects, err = c.Lookup(ctx, ids); err != nil {
		return nil, err
	}
	if members {
		if dir.Members, err = c.Members(ctx, groups); err != nil {
			return nil, err
		}
	}
	return dir, nil
}

// DirectoryWarnings are, for each server planned with directory: graph,
// what Microsoft Graph says of its declared principals that have an object
// id: gone, disabled, or named otherwise in Entra. Graph's failure is a
// warning too: the check never fails a plan.
func DirectoryWarnings(ctx context.Context, targets []*Target, cfg Config) []string {
	dirs := newDirectories(cfg)
	var out []string
	for _, t := range targets {
		s := t.Server
		if s.Directory != spec.DirectoryGraph {
			continue
		}
		var ids []string
		for _, p := range s.Principals {
			if p.ObjectID != "" {
				ids = append(ids, p.ObjectID)
			}
		}
		if len(ids) == 0 {
			continue
		}
		c, err := dirs.client(s)
		var objects map[string]directory.Object
		if err == nil {
			ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			objects, err = c.Lookup(ctx, ids)
			cancel()
		}
		if err != nil {
			out = append(out, fmt.Sprintf("server %s: directory: graph: the principals were not checked in Entra: %v", s.Name, err))
			continue
		}
		for _, p := range s.Principals {
			if p.ObjectID == "" {
				continue
			}
			o, ok := objects[strings.ToLower(p.ObjectID)]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("server %s: principal %s (%s): its object id %s does not exist in Entra (deleted, "+
					"or of another tenant): remove the principal from the files, or correct its objectId", s.Name, p.Name, p.Pos, p.ObjectID))
				continue
			case !o.Enabled:
				out = append(out, fmt.Sprintf("server %s: principal %s (%s) is disabled in Entra: it cannot sign in", s.Name, p.Name, p.Pos))
			}
			if name := o.Name(); name != "" && !strings.EqualFold(name, p.Name) {
				out = append(out, fmt.Sprintf("server %s: principal %s (%s) is named %s in Entra: declare it as %s with "+
					"renamedFrom: %s to rename its role", s.Name, p.Name, p.Pos, name, name, p.Name))
			}
		}
	}
	return out
}
