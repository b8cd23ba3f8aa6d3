// Package export writes what a server has as a desired-state file: the way
// to adopt a server pgusers did not set up. Planning the file it writes
// against the same server shows no change.
//
// The Go API is not yet stable: it serves the pgusers command.
package export

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Write writes the desired-state file of server s holding observed:
// s's connection settings and policy (they are not on the server), every
// Entra principal observed with its memberships, the group roles they
// belong to directly or through other group roles (o must know all of
// them: see GroupRoles), and, in each of the databases dbs (read with inspect's
// AllSchemas for Grantees(o)), the grants of those principals and roles.
// by names the pgusers that wrote it, in the file's head comment.
func Write(w io.Writer, s spec.Server, o diff.Observed, dbs Databases, by string) error {
	server, err := serverNode(s)
	if err != nil {
		return err
	}
	principals := &yaml.Node{Kind: yaml.SequenceNode}
	for _, p := range o.Principals {
		n := mapping(
			"name", str(p.Name),
			"type", str(p.Type),
			"objectId", str(p.ObjectID),
			"admin", boolean(p.Admin),
			"mfa", boolean(p.MFA),
			"memberOf", flowList(withoutAdminRole(p.MemberOf)),
		)
		if p.Admin {
			n.HeadComment = "Azure manages this principal: it is a Microsoft Entra administrator of the server (isadmin = 1).\n" +
				"pgusers never drops or replaces it; change it in Azure, not in this file."
		}
		principals.Content = append(principals.Content, n)
	}
	server.Content = append(server.Content, str("principals"), principals)
	var notes []string
	if roles := rolesOf(o); len(roles) > 0 {
		list := &yaml.Node{Kind: yaml.SequenceNode}
		for _, name := range roles {
			if r, ok := o.GroupRole(name); ok {
				list.Content = append(list.Content, roleNode(r))
			}
		}
		server.Content = append(server.Content, str("roles"), list)
	}
	if len(dbs) > 0 {
		entries, ns := grants(Grantees(o), dbs, o.ServerVersion)
		notes = ns
		list := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range entries {
			list.Content = append(list.Content, grantNode(e, o.ServerVersion))
		}
		if len(list.Content) > 0 {
			server.Content = append(server.Content, str("grants"), list)
		}
	}

	doc := mapping("version", num(1), "servers", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{server}})
	doc.HeadComment = fmt.Sprintf("Exported by %s from server %s (%s:%d), database %s, signed in as %s.\n"+
		"It declares every Entra principal the server had, with its memberships, the group roles they belong to\n"+
		"(directly or through other group roles), and their privileges in the databases export was asked for:\n"+
		"planning it against the server shows no change. Connection settings come from the files given to export.",
		by, s.Name, s.Host, port(s.Port), o.Database, o.SessionUser)
	if c := noteComment(notes); c != "" {
		doc.HeadComment += "\n\n" + c
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}); err != nil {
		return fmt.Errorf("write the export: %w", err)
	}
	return enc.Close()
}

// serverNode is the server entry: its name, its spec.Connection encoded
// whole (its yaml names are the file's keys, so a new setting is exported
// with no change here), and its policy.
func serverNode(s spec.Server) (*yaml.Node, error) {
	c := s.Connection
	if c.SSLRootCert != "" {
		abs, err := filepath.Abs(c.SSLRootCert)
		if err != nil {
			return nil, fmt.Errorf("server %s: sslrootcert %s: %w", s.Name, c.SSLRootCert, err)
		}
		c.SSLRootCert = abs
	}
	var conn yaml.Node
	if err := conn.Encode(c); err != nil {
		return nil, fmt.Errorf("server %s: encode its connection settings: %w", s.Name, err)
	}
	n := mapping("name", str(s.Name))
	n.Content = append(n.Content, conn.Content...)
	if s.Prune {
		n.Content = append(n.Content, str("prune"), boolean(true))
	}
	if len(s.Protect) > 0 {
		n.Content = append(n.Content, str("protect"), flowList(s.Protect))
	}
	if s.MaxDrops != spec.DefaultMaxDrops {
		n.Content = append(n.Content, str("maxDrops"), num(s.MaxDrops))
	}
	if s.ReassignOwnedTo != "" {
		n.Content = append(n.Content, str("reassignOwnedTo"), str(s.ReassignOwnedTo))
	}
	if s.PruneSyncedUsers {
		n.Content = append(n.Content, str("pruneSyncedUsers"), boolean(true))
	}
	return n, nil
}

func port(p int) int {
	if p == 0 {
		return 5432
	}
	return p
}

func withoutAdminRole(roles []string) []string {
	var out []string
	for _, r := range roles {
		if r != spec.AdminRole {
			out = append(out, r)
		}
	}
	return out
}

// mapping is a mapping node of key, value pairs.
func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func num(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func flowList(items []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range items {
		n.Content = append(n.Content, str(s))
	}
	return n
}
