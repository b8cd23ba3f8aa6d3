package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// runExport prints a desired-state file that declares what one server has:
// the way to adopt a server pgusers did not create. Connection settings come
// from the files (they are not on the server); everything else from the
// server. Planning the printed file against the server shows no change.
func runExport(ctx context.Context, args []string, e env) (int, error) {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var c common
	c.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) > 0 {
		return exitError, usagef("export takes no arguments (got %q); name the server with --server and its file with -f", pos)
	}
	if len(c.servers) != 1 {
		return exitError, usagef("export needs exactly one --server NAME, a server of the files given with -f "+
			"(they say how to reach it); got %d", len(c.servers))
	}
	log := c.logger(e.stderr)
	_, servers, err := c.load(ctx)
	if err != nil {
		return exitError, err
	}
	s := servers[0]
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	observed, err := openAndInspect(ctx, s, connectOptions(e, log))
	if err != nil {
		return exitError, fmt.Errorf("server %s: %w; nothing was exported", s.Name, err)
	}
	if err := writeExport(e.stdout, s, observed); err != nil {
		return exitError, err
	}
	return exitOK, nil
}

func openAndInspect(ctx context.Context, s spec.Server, opts connect.Options) (diff.Observed, error) {
	conn, err := connect.Open(ctx, s, opts)
	if err != nil {
		return diff.Observed{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return inspect.Inspect(ctx, conn, nil)
}

// writeExport writes the desired-state file of server s holding observed.
func writeExport(w io.Writer, s spec.Server, o diff.Observed) error {
	server := mapping()
	add := func(key string, v *yaml.Node) { server.Content = append(server.Content, str(key), v) }
	add("name", str(s.Name))
	add("host", str(s.Host))
	if s.Port != 0 {
		add("port", num(s.Port))
	}
	add("database", str(s.Database))
	add("user", str(s.User))
	add("auth", str(string(s.Auth)))
	if s.Auth == spec.AuthPassword {
		add("passwordEnv", str(s.PasswordEnv))
	} else if s.Credential != "" {
		add("credential", str(s.Credential))
	}
	if s.ClientID != "" {
		add("clientId", str(s.ClientID))
	}
	add("sslmode", str(s.SSLMode))
	if s.SSLRootCert != "" {
		root, err := filepath.Abs(s.SSLRootCert)
		if err != nil {
			return fmt.Errorf("server %s: sslrootcert %s: %w", s.Name, s.SSLRootCert, err)
		}
		add("sslrootcert", str(root))
	}
	if s.Cloud != "" {
		add("cloud", str(s.Cloud))
	}
	if s.Prune {
		add("prune", boolean(true))
	}
	if len(s.Protect) > 0 {
		add("protect", flowList(s.Protect))
	}
	if s.MaxDrops != spec.DefaultMaxDrops {
		add("maxDrops", num(s.MaxDrops))
	}
	if s.ReassignOwnedTo != "" {
		add("reassignOwnedTo", str(s.ReassignOwnedTo))
	}
	principals := &yaml.Node{Kind: yaml.SequenceNode}
	for _, p := range o.Principals {
		n := mapping()
		n.Content = append(n.Content,
			str("name"), str(p.Name),
			str("type"), str(p.Type),
			str("objectId"), str(p.ObjectID),
			str("admin"), boolean(p.Admin),
			str("mfa"), boolean(p.MFA),
			str("memberOf"), flowList(withoutAdminRole(p.MemberOf)),
		)
		if p.Admin {
			n.HeadComment = "Azure manages this principal: it is a Microsoft Entra administrator of the server (isadmin = 1).\n" +
				"pgusers never drops or replaces it; change it in Azure, not in this file."
		}
		principals.Content = append(principals.Content, n)
	}
	add("principals", principals)

	doc := mapping()
	doc.HeadComment = fmt.Sprintf("Exported by %s from server %s (%s), database %s, signed in as %s.\n"+
		"It declares every Entra principal the server had, with its memberships: planning it against the\n"+
		"server shows no change. Connection settings come from the files given to export.",
		versionString(), s.Name, hostPort(s), o.Database, o.SessionUser)
	doc.Content = append(doc.Content,
		str("version"), num(1),
		str("servers"), &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{server}},
	)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}); err != nil {
		return fmt.Errorf("write the export: %w", err)
	}
	return enc.Close()
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

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

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
