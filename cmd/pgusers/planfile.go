package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// A saved plan (plan --out FILE) is a JSON file of its own versioned format:
//
//	{
//	  "pgusersPlan": 1,
//	  "checksum": "sha256:...",
//	  "plan": { ... }
//	}
//
// "plan" holds the report that plan printed (CONTRACT.md's JSON) and, per
// server, what apply needs to run exactly that plan later: the connection
// settings (never a password or a token: auth: password names its variable,
// Entra signs in afresh), the state the plan was computed from with its
// fingerprint, the names inspected to re-read it, and every statement with
// its arguments. The checksum is a sha256 of "plan" in compact form: it
// catches a file edited by hand, truncated or damaged in transit. It is not
// a signature; whoever can write the file can also recompute it, so keep
// plan files where only the pipeline writes them.

// planFormat is the version of the saved plan format this pgusers writes
// and reads. A field's meaning never changes without a new version.
const planFormat = 1

type planEnvelope struct {
	PgusersPlan int             `json:"pgusersPlan"`
	Checksum    string          `json:"checksum"`
	Plan        json.RawMessage `json:"plan"`
}

type savedPlan struct {
	// Pgusers is the version of pgusers that made the plan.
	Pgusers string `json:"pgusers"`
	// DesiredDigest is spec.Desired.Digest of the servers planned, as the
	// command line left them (--server, --max-drops).
	DesiredDigest string        `json:"desiredDigest"`
	Files         []string      `json:"files"`
	Report        report        `json:"report"`
	Servers       []savedServer `json:"servers"`
}

type savedServer struct {
	Name       string          `json:"name"`
	Connection savedConnection `json:"connection"`
	Status     status          `json:"status"`
	// Fingerprint is that of Observed, the part of the server's state the
	// plan rests on (diff.Plan.Basis).
	Fingerprint string        `json:"fingerprint"`
	RoleNames   []string      `json:"roleNames"`
	Observed    savedObserved `json:"observed"`
	Plan        savedDiffPlan `json:"plan"`
}

// savedConnection is how to reach a server, without anything secret.
type savedConnection struct {
	Host        string    `json:"host"`
	Port        int       `json:"port,omitempty"`
	Database    string    `json:"database"`
	User        string    `json:"user"`
	Auth        spec.Auth `json:"auth"`
	Credential  string    `json:"credential,omitempty"`
	ClientID    string    `json:"clientId,omitempty"`
	PasswordEnv string    `json:"passwordEnv,omitempty"`
	SSLMode     string    `json:"sslmode"`
	SSLRootCert string    `json:"sslrootcert,omitempty"`
	Cloud       string    `json:"cloud,omitempty"`
}

type savedObserved struct {
	Principals   []savedPrincipal  `json:"principals"`
	Roles        []string          `json:"roles"`
	SessionUser  string            `json:"sessionUser"`
	Database     string            `json:"database"`
	Dependencies []savedDependency `json:"dependencies"`
	SessionRoles []string          `json:"sessionRoles"`
}

type savedPrincipal struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	ObjectID string   `json:"objectId"`
	TenantID string   `json:"tenantId"`
	MFA      bool     `json:"mfa"`
	Admin    bool     `json:"admin"`
	MemberOf []string `json:"memberOf"`
}

type savedDependency struct {
	Principal string              `json:"principal"`
	Database  string              `json:"database"`
	Kind      diff.DependencyKind `json:"kind"`
	Count     int                 `json:"count"`
}

type savedDiffPlan struct {
	Changes  []savedChange  `json:"changes"`
	Kept     []keptReport   `json:"kept"`
	Cleanups []savedCleanup `json:"cleanups"`
	Blockers []savedBlocker `json:"blockers"`
}

type savedChange struct {
	Action     diff.Action      `json:"action"`
	Principal  string           `json:"principal"`
	Type       string           `json:"type"`
	ObjectID   string           `json:"objectId"`
	Admin      bool             `json:"admin"`
	MFA        bool             `json:"mfa"`
	Role       string           `json:"role"`
	Reason     string           `json:"reason"`
	Statements []savedStatement `json:"statements"`
}

// savedStatement keeps each argument's JSON type: pgusers' arguments are
// strings and booleans.
type savedStatement struct {
	SQL  string `json:"sql"`
	Args []any  `json:"args"`
}

type savedCleanup struct {
	Database   string           `json:"database"`
	Principals []string         `json:"principals"`
	Statements []savedStatement `json:"statements"`
}

type savedBlocker struct {
	Principal  string              `json:"principal"`
	Database   string              `json:"database"`
	Kind       diff.DependencyKind `json:"kind"`
	ObjectType string              `json:"objectType"`
	Object     string              `json:"object"`
	Count      int                 `json:"count"`
}

// newSavedPlan records targets, every one of them read and planned.
func newSavedPlan(targets []*target, files []string, digest string) (savedPlan, error) {
	sp := savedPlan{Pgusers: versionString(), DesiredDigest: digest, Files: files, Report: buildReport(targets)}
	var failed []string
	for _, t := range targets {
		if t.status != statusInSync && t.status != statusChanges {
			failed = append(failed, t.server.Name)
			continue
		}
		basis := t.plan.Basis(t.observed)
		conn, err := saveConnection(t.server)
		if err != nil {
			return savedPlan{}, err
		}
		sp.Servers = append(sp.Servers, savedServer{
			Name:        t.server.Name,
			Connection:  conn,
			Status:      t.status,
			Fingerprint: basis.Fingerprint(),
			RoleNames:   nonNil(t.roleNames),
			Observed:    saveObserved(basis),
			Plan:        saveDiffPlan(t.plan),
		})
	}
	if len(failed) > 0 {
		return savedPlan{}, fmt.Errorf("the plan was not saved: server(s) %v failed, and a saved plan must hold every server it names: "+
			"fix them, or leave them out with --server", failed)
	}
	return sp, nil
}

func saveConnection(s spec.Server) (savedConnection, error) {
	root := s.SSLRootCert
	if root != "" {
		// apply may run from another directory than plan.
		abs, err := filepath.Abs(root)
		if err != nil {
			return savedConnection{}, fmt.Errorf("server %s: sslrootcert %s: %w", s.Name, root, err)
		}
		root = abs
	}
	return savedConnection{
		Host: s.Host, Port: s.Port, Database: s.Database, User: s.User, Auth: s.Auth, Credential: s.Credential,
		ClientID: s.ClientID, PasswordEnv: s.PasswordEnv, SSLMode: s.SSLMode, SSLRootCert: root, Cloud: s.Cloud,
	}, nil
}

func (c savedConnection) server(name string) spec.Server {
	return spec.Server{
		Name:       name,
		Connection: spec.Connection{Host: c.Host, Port: c.Port, Database: c.Database, User: c.User, Auth: c.Auth, Credential: c.Credential, ClientID: c.ClientID, PasswordEnv: c.PasswordEnv, SSLMode: c.SSLMode, SSLRootCert: c.SSLRootCert, Cloud: c.Cloud}}
}

func saveObserved(o diff.Observed) savedObserved {
	so := savedObserved{
		Principals: make([]savedPrincipal, len(o.Principals)), Roles: nonNil(o.Roles), SessionUser: o.SessionUser,
		Database: o.Database, Dependencies: make([]savedDependency, len(o.Dependencies)), SessionRoles: nonNil(o.SessionRoles),
	}
	for i, p := range o.Principals {
		so.Principals[i] = savedPrincipal{Name: p.Name, Type: p.Type, ObjectID: p.ObjectID, TenantID: p.TenantID,
			MFA: p.MFA, Admin: p.Admin, MemberOf: nonNil(p.MemberOf)}
	}
	for i, d := range o.Dependencies {
		so.Dependencies[i] = savedDependency{Principal: d.Principal, Database: d.Database, Kind: d.Kind, Count: d.Count}
	}
	return so
}

func (so savedObserved) observed() diff.Observed {
	o := diff.Observed{Roles: so.Roles, SessionUser: so.SessionUser, Database: so.Database, SessionRoles: so.SessionRoles}
	for _, p := range so.Principals {
		o.Principals = append(o.Principals, diff.ObservedPrincipal{Name: p.Name, Type: p.Type, ObjectID: p.ObjectID,
			TenantID: p.TenantID, MFA: p.MFA, Admin: p.Admin, MemberOf: p.MemberOf})
	}
	for _, d := range so.Dependencies {
		o.Dependencies = append(o.Dependencies, diff.Dependency{Principal: d.Principal, Database: d.Database, Kind: d.Kind, Count: d.Count})
	}
	o.Normalize()
	return o
}

func saveStatements(ss []diff.Statement) []savedStatement {
	out := make([]savedStatement, len(ss))
	for i, s := range ss {
		out[i] = savedStatement{SQL: s.SQL, Args: nonNil(s.Args)}
	}
	return out
}

func saveDiffPlan(p diff.Plan) savedDiffPlan {
	sp := savedDiffPlan{Changes: []savedChange{}, Kept: []keptReport{}, Cleanups: []savedCleanup{}, Blockers: []savedBlocker{}}
	for _, c := range p.Changes {
		sp.Changes = append(sp.Changes, savedChange{Action: c.Action, Principal: c.Principal, Type: c.Type, ObjectID: c.ObjectID,
			Admin: c.Admin, MFA: c.MFA, Role: c.Role, Reason: c.Reason, Statements: saveStatements(c.Statements)})
	}
	for _, k := range p.Kept {
		sp.Kept = append(sp.Kept, keptReport{Principal: k.Principal, Why: k.Why})
	}
	for _, c := range p.Cleanups {
		sp.Cleanups = append(sp.Cleanups, savedCleanup{Database: c.Database, Principals: c.Principals, Statements: saveStatements(c.Statements)})
	}
	for _, b := range p.Blockers {
		sp.Blockers = append(sp.Blockers, savedBlocker{Principal: b.Principal, Database: b.Database, Kind: b.Kind,
			ObjectType: b.ObjectType, Object: b.Object, Count: b.Count})
	}
	return sp
}

func (sp savedDiffPlan) plan(server string) diff.Plan {
	p := diff.Plan{Server: server}
	for _, c := range sp.Changes {
		p.Changes = append(p.Changes, diff.Change{Action: c.Action, Principal: c.Principal, Type: c.Type, ObjectID: c.ObjectID,
			Admin: c.Admin, MFA: c.MFA, Role: c.Role, Reason: c.Reason, Statements: statements(c.Statements)})
	}
	for _, k := range sp.Kept {
		p.Kept = append(p.Kept, diff.Kept{Principal: k.Principal, Why: k.Why})
	}
	for _, c := range sp.Cleanups {
		p.Cleanups = append(p.Cleanups, diff.Cleanup{Database: c.Database, Principals: c.Principals, Statements: statements(c.Statements)})
	}
	for _, b := range sp.Blockers {
		p.Blockers = append(p.Blockers, diff.Blocker{Principal: b.Principal, Database: b.Database, Kind: b.Kind,
			ObjectType: b.ObjectType, Object: b.Object, Count: b.Count})
	}
	return p
}

func statements(ss []savedStatement) []diff.Statement {
	out := make([]diff.Statement, len(ss))
	for i, s := range ss {
		out[i] = diff.Statement{SQL: s.SQL, Args: s.Args}
		if len(s.Args) == 0 {
			out[i].Args = nil
		}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// encodePlan returns the bytes of a plan file.
func encodePlan(sp savedPlan) ([]byte, error) {
	body, err := marshalIndent(sp, "  ")
	if err != nil {
		return nil, err
	}
	sum, err := checksum(body)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\n  \"pgusersPlan\": %d,\n  \"checksum\": %q,\n  \"plan\": ", planFormat, sum)
	b.Write(body)
	b.WriteString("\n}\n")
	return b.Bytes(), nil
}

func marshalIndent(v any, prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// checksum is the sha256 of body in compact form, so that the file's
// indentation does not count.
func checksum(body []byte) (string, error) {
	var c bytes.Buffer
	if err := json.Compact(&c, body); err != nil {
		return "", err
	}
	sum := sha256.Sum256(c.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// writePlanFile writes the plan to path, whole or not at all.
func writePlanFile(path string, sp savedPlan) error {
	b, err := encodePlan(sp)
	if err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("save the plan to %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save the plan to %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save the plan to %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save the plan to %s: %w", path, err)
	}
	return nil
}

// planFileError is a plan file that cannot be applied; nothing was touched.
type planFileError struct {
	path, msg string
}

func (e *planFileError) Error() string {
	return fmt.Sprintf("plan file %s: %s; nothing was changed", e.path, e.msg)
}

// readPlanFile reads and checks a plan file.
func readPlanFile(path string) (savedPlan, error) {
	fail := func(format string, args ...any) (savedPlan, error) {
		return savedPlan{}, &planFileError{path: path, msg: fmt.Sprintf(format, args...)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail("does not exist: make one with pgusers plan --out %s", path)
		}
		return fail("%v", err)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fail("is not a pgusers plan file (a plan file is JSON made by pgusers plan --out FILE)")
	}
	var env planEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fail("is not complete JSON (%v): it was truncated or damaged; plan again", err)
		}
		return fail("is not a pgusers plan file: %v", err)
	}
	switch {
	case env.PgusersPlan == 0:
		return fail("is not a pgusers plan file (it has no pgusersPlan version): make one with pgusers plan --out FILE")
	case env.PgusersPlan > planFormat:
		return fail("was written by a newer pgusers (plan format %d; this %s reads format %d): "+
			"apply it with the pgusers that made it, or plan again with this one", env.PgusersPlan, versionString(), planFormat)
	case env.PgusersPlan < 0 || env.PgusersPlan != planFormat:
		return fail("has plan format %d, which no pgusers writes (this one reads %d): plan again", env.PgusersPlan, planFormat)
	}
	if len(env.Plan) == 0 {
		return fail("holds no plan: plan again")
	}
	sum, err := checksum(env.Plan)
	if err != nil {
		return fail("its plan is not valid JSON: %v; plan again", err)
	}
	if sum != env.Checksum {
		return fail("was changed after pgusers wrote it (its checksum does not match its content): " +
			"a plan is applied exactly as it was reviewed, so plan again instead of editing it")
	}
	var sp savedPlan
	dec := json.NewDecoder(bytes.NewReader(env.Plan))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sp); err != nil {
		return fail("its plan does not have the shape of format %d: %v; plan again", planFormat, err)
	}
	if msg := sp.check(); msg != "" {
		return fail("%s; plan again", msg)
	}
	return sp, nil
}

// check returns what is wrong with a decoded plan, or "".
func (sp savedPlan) check() string {
	if len(sp.Servers) == 0 {
		return "it holds no server"
	}
	seen := map[string]bool{}
	for _, s := range sp.Servers {
		switch {
		case s.Name == "":
			return "a server has no name"
		case seen[s.Name]:
			return fmt.Sprintf("server %s appears twice", s.Name)
		case s.Connection.Host == "" || s.Connection.User == "":
			return fmt.Sprintf("server %s has no host or user", s.Name)
		case s.Status != statusInSync && s.Status != statusChanges:
			return fmt.Sprintf("server %s has status %q", s.Name, s.Status)
		case (s.Status == statusInSync) != (len(s.Plan.Changes) == 0):
			return fmt.Sprintf("server %s has status %s and %d change(s)", s.Name, s.Status, len(s.Plan.Changes))
		case s.Observed.observed().Fingerprint() != s.Fingerprint:
			return fmt.Sprintf("server %s: the recorded state does not match its fingerprint", s.Name)
		}
		seen[s.Name] = true
		for _, c := range s.Plan.Changes {
			if !slices.Contains(diff.Actions, c.Action) || c.Principal == "" || len(c.Statements) == 0 {
				return fmt.Sprintf("server %s: a change is incomplete (%q %q)", s.Name, c.Action, c.Principal)
			}
			if msg := checkStatements(c.Statements); msg != "" {
				return fmt.Sprintf("server %s: %s %s: %s", s.Name, c.Action, c.Principal, msg)
			}
		}
		for _, c := range s.Plan.Cleanups {
			if c.Database == "" || len(c.Statements) == 0 {
				return fmt.Sprintf("server %s: a cleanup is incomplete", s.Name)
			}
			if msg := checkStatements(c.Statements); msg != "" {
				return fmt.Sprintf("server %s: cleanup of database %s: %s", s.Name, c.Database, msg)
			}
		}
	}
	return ""
}

func checkStatements(ss []savedStatement) string {
	for _, s := range ss {
		if s.SQL == "" {
			return "a statement is empty"
		}
		for _, a := range s.Args {
			switch a.(type) {
			case string, bool:
			default:
				return fmt.Sprintf("statement %q has an argument %v of type %T; pgusers' arguments are strings and booleans", s.SQL, a, a)
			}
		}
	}
	return ""
}

// targets are the servers of a saved plan, as apply runs them.
func (sp savedPlan) targets() []*target {
	out := make([]*target, len(sp.Servers))
	for i, s := range sp.Servers {
		out[i] = &target{
			server:    s.Connection.server(s.Name),
			roleNames: s.RoleNames,
			observed:  s.Observed.observed(),
			plan:      s.Plan.plan(s.Name),
			status:    s.Status,
		}
	}
	return out
}
