package report

import (
	"context"
	"errors"
	"slices"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// FormatVersion is the version of the JSON document.
const FormatVersion = "1"

// Status is a server's state in the output.
type Status string

const (
	InSync  Status = "in-sync"
	Changes Status = "changes"
	Applied Status = "applied"
	Error   Status = "error"
	// Unknown is a server whose COMMIT reply was lost and whose state,
	// read again, tells neither that the plan applied nor that it did not.
	Unknown Status = "unknown"
)

// Result is what became of one server in a run: what Build reports.
type Result struct {
	Server spec.Server
	Status Status
	// Err is why the server failed (Status Error).
	Err error
	// Plan is the server's plan; empty when it could not be made.
	Plan diff.Plan
	// Principals is how many Entra principals the server had when read.
	Principals int
	// SessionUser is whom pgusers signed in as: the SQL view lends it roles.
	SessionUser string
}

// Report is the JSON document of plan and apply. It is the public API:
// types of its own, apart from the internal ones, so that internal changes
// never move it silently.
type Report struct {
	FormatVersion string `json:"formatVersion"`
	// DryRun is "client" or "server" when apply ran as a dry run: then
	// "changes" means the server would apply them.
	DryRun  string   `json:"dryRun,omitempty"`
	Servers []Server `json:"servers"`
	Summary Summary  `json:"summary"`
}

// Server is one server of a Report.
type Server struct {
	Name string `json:"name"`
	Host string `json:"host"`
	// Port is for the SQL view's header; the JSON has always named the
	// host alone.
	Port   int    `json:"-"`
	Status Status `json:"status"`
	Error  string `json:"error"`
	// ErrorKind says what kind of failure Error is, for machines: sign-in,
	// unreachable, connection-lost, tls, timeout, interrupted, locked,
	// stale, plan, blocked, statement, partial, unknown-outcome, other.
	ErrorKind string   `json:"errorKind,omitempty"`
	Changes   []Change `json:"changes"`
	// Kept are undeclared principals prune leaves alone, and why.
	Kept []Kept `json:"kept,omitempty"`
	// Withheld are changes managed cells need that the plan leaves out,
	// and why: they need the user. Not changes: a server with withheld
	// changes only is in sync.
	Withheld []Withheld `json:"withheld,omitempty"`
	// Principals is how many Entra principals the server had when read.
	Principals int `json:"principals"`
	// Blockers are what the principals a plan drops or replaces own or
	// hold: handed over to reassignOwnedTo when the status is "changes",
	// the reason for the error when the server has none.
	Blockers []Blocker `json:"blockers,omitempty"`
	// Cleanups run before the changes, each in its own transaction in
	// another database: they hand over what dropped principals own there.
	Cleanups []Cleanup `json:"cleanups,omitempty"`
	// Failed is the statement that failed, when one did.
	Failed *Failed `json:"failed,omitempty"`
	// Committed names what committed before the server failed, when a plan
	// of several transactions failed partway (the main transaction,
	// databases, hand-overs); empty means nothing changed.
	Committed []string `json:"committed,omitempty"`
	// Managed are the privilege cells the server's grants make exact:
	// every other privilege is left alone.
	Managed []Managed `json:"managed,omitempty"`
}

// Managed is what the grants make exact for one grantee in one database.
type Managed struct {
	Grantee  string `json:"grantee"`
	Database string `json:"database"`
	// On are the kinds, each with its schemas ("" for database).
	On []ManagedKind `json:"on"`
	// DefaultsFor are the owners whose default privileges are made exact.
	DefaultsFor []string `json:"defaultsFor,omitempty"`
}

// ManagedKind is a kind of cell and the schemas it is managed in.
type ManagedKind struct {
	Kind    spec.Kind `json:"kind"`
	Schemas []string  `json:"schemas,omitempty"`
}

// Blocker is what a principal the plan drops owns or holds.
type Blocker struct {
	Principal string `json:"principal"`
	// Database is "" for an object of the whole cluster (a database, a
	// tablespace).
	Database string `json:"database"`
	// Dependency is owner, privileges, policy or initial privileges.
	Dependency diff.DependencyKind `json:"dependency"`
	// ObjectType and Object name the object; both are "" when Count
	// objects could not be named.
	ObjectType string `json:"objectType,omitempty"`
	Object     string `json:"object,omitempty"`
	Count      int    `json:"count"`
}

// Cleanup hands over, in another database, what dropped principals own.
type Cleanup struct {
	Database   string   `json:"database"`
	Principals []string `json:"principals"`
	SQL        []string `json:"sql"`
}

// Failed is the statement that failed, and what the server said.
type Failed struct {
	// Database is set when the statement was one of a cleanup's.
	Database  string      `json:"database,omitempty"`
	Action    diff.Action `json:"action,omitempty"`
	Principal string      `json:"principal,omitempty"`
	SQL       string      `json:"sql"`
	Error     string      `json:"error"`
}

// Change is one change of a plan.
type Change struct {
	Action diff.Action `json:"action"`
	// Principal is the Entra principal (create, drop, replace, rename), or
	// the member of a grant or revoke of a role, which may be a group role.
	Principal string `json:"principal,omitempty"`
	Type      string `json:"type,omitempty"`
	ObjectID  string `json:"objectId,omitempty"`
	Admin     bool   `json:"admin,omitempty"`
	MFA       bool   `json:"mfa,omitempty"`
	// Role is the role granted or revoked, or the group role of
	// create-role, alter-role and drop-role.
	Role string `json:"role,omitempty"`
	// From is a renamed principal's name before.
	From string `json:"from,omitempty"`
	// Comment is a group role's comment as it will be.
	Comment string `json:"comment,omitempty"`
	// Grantee, Database, On, Schema, Objects and Privileges describe a
	// privilege change; Objects is absent when the statement covers every
	// object of the kind in the schema (as pgusers' statements do). Owner is
	// the role whose default privileges change. GrantOption: only the
	// grant option of Privileges is revoked.
	Grantee     string    `json:"grantee,omitempty"`
	Database    string    `json:"database,omitempty"`
	On          spec.Kind `json:"on,omitempty"`
	Schema      string    `json:"schema,omitempty"`
	Objects     []string  `json:"objects,omitempty"`
	Owner       string    `json:"owner,omitempty"`
	Privileges  []string  `json:"privileges,omitempty"`
	GrantOption bool      `json:"grantOption,omitempty"`
	// Table and Column narrow a privilege change on tables to one
	// column of one table of Schema: column privileges.
	Table  string   `json:"table,omitempty"`
	Column string   `json:"column,omitempty"`
	Reason string   `json:"reason"`
	SQL    []string `json:"sql"`
}

// Withheld is a change a managed cell needs that pgusers does not make.
type Withheld struct {
	Grantee  string    `json:"grantee"`
	Database string    `json:"database"`
	On       spec.Kind `json:"on"`
	Schema   string    `json:"schema,omitempty"`
	// Why says what stands in the way and what to do. A sentence for
	// people.
	Why string `json:"why"`
}

// Kept is an undeclared principal that prune leaves alone.
type Kept struct {
	Principal string `json:"principal"`
	Why       string `json:"why"`
}

// Summary counts the changes by action and the servers by status.
type Summary struct {
	Create           int `json:"create"`
	Drop             int `json:"drop"`
	Replace          int `json:"replace"`
	Grant            int `json:"grant"`
	Revoke           int `json:"revoke"`
	Rename           int `json:"rename"`
	CreateRole       int `json:"createRole"`
	AlterRole        int `json:"alterRole"`
	DropRole         int `json:"dropRole"`
	GrantPrivileges  int `json:"grantPrivileges"`
	RevokePrivileges int `json:"revokePrivileges"`
	GrantDefaults    int `json:"grantDefaults"`
	RevokeDefaults   int `json:"revokeDefaults"`
	InSync           int `json:"inSync"`
	WithChanges      int `json:"withChanges"`
	Applied          int `json:"applied"`
	Failed           int `json:"failed"`
	Unknown          int `json:"unknown"`
}

// Build reports results, in their order.
func Build(results []Result) Report {
	r := Report{FormatVersion: FormatVersion, Servers: make([]Server, 0, len(results))}
	for _, res := range results {
		s := Server{
			Name:       res.Server.Name,
			Host:       res.Server.Host,
			Port:       res.Server.Port,
			Status:     res.Status,
			Changes:    make([]Change, 0, len(res.Plan.Changes)),
			Principals: res.Principals,
			Blockers:   blockers(res),
			Failed:     failedStatement(res.Err),
			Managed:    managed(res.Server),
			Committed:  committed(res.Err),
		}
		if res.Err != nil {
			s.Error = res.Err.Error()
			s.ErrorKind = Kind(res.Status, res.Err)
		}
		for _, c := range res.Plan.Changes {
			s.Changes = append(s.Changes, change(c))
			if res.Status != Error && res.Status != Unknown {
				// What failed to apply is listed, not counted.
				r.Summary.count(c.Action)
			}
		}
		for _, k := range res.Plan.Kept {
			s.Kept = append(s.Kept, Kept{Principal: k.Principal, Why: k.Why})
		}
		for _, w := range res.Plan.Withheld {
			s.Withheld = append(s.Withheld, Withheld{Grantee: w.Grantee, Database: w.Database, On: w.On, Schema: w.Schema, Why: w.Why})
		}
		for _, c := range res.Plan.Cleanups {
			s.Cleanups = append(s.Cleanups, Cleanup{Database: c.Database, Principals: c.Principals, SQL: display(c.Statements)})
		}
		switch res.Status {
		case InSync:
			r.Summary.InSync++
		case Changes:
			r.Summary.WithChanges++
		case Applied:
			r.Summary.Applied++
		case Error:
			r.Summary.Failed++
		case Unknown:
			r.Summary.Unknown++
		}
		r.Servers = append(r.Servers, s)
	}
	return r
}

func (s *Summary) count(a diff.Action) {
	switch a {
	case diff.Create:
		s.Create++
	case diff.Drop:
		s.Drop++
	case diff.Replace:
		s.Replace++
	case diff.Grant:
		s.Grant++
	case diff.Revoke:
		s.Revoke++
	case diff.Rename:
		s.Rename++
	case diff.CreateRole:
		s.CreateRole++
	case diff.AlterRole:
		s.AlterRole++
	case diff.DropRole:
		s.DropRole++
	case diff.GrantPrivileges:
		s.GrantPrivileges++
	case diff.RevokePrivileges:
		s.RevokePrivileges++
	case diff.GrantDefaults:
		s.GrantDefaults++
	case diff.RevokeDefaults:
		s.RevokeDefaults++
	}
}

// Changes is how many changes the summary counts.
func (s Summary) Changes() int {
	return s.Create + s.Replace + s.Drop + s.Grant + s.Revoke + s.Rename + s.roleChanges() + s.privilegeChanges()
}

func (s Summary) roleChanges() int { return s.CreateRole + s.AlterRole + s.DropRole }

func (s Summary) privilegeChanges() int {
	return s.GrantPrivileges + s.RevokePrivileges + s.GrantDefaults + s.RevokeDefaults
}

func change(c diff.Change) Change {
	return Change{Action: c.Action, Principal: c.Principal, Type: c.Type, ObjectID: c.ObjectID,
		Admin: c.Admin, MFA: c.MFA, Role: c.Role, From: c.From, Comment: c.Comment,
		Grantee: c.Grantee, Database: c.Database, On: c.On, Schema: c.Schema, Owner: c.Owner,
		Privileges: c.Privileges, GrantOption: c.GrantOption, Table: c.Table, Column: c.Column,
		Reason: c.Reason, SQL: display(c.Statements)}
}

func display(ss []diff.Statement) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Display()
	}
	return out
}

// blockers lists what blocks or burdens the drops of a server: the plan's
// blockers, or those of the error that refused it.
func blockers(res Result) []Blocker {
	bs := res.Plan.Blockers
	var de *diff.Error
	if res.Status == Error && errors.As(res.Err, &de) {
		bs = de.Blocked
	}
	var out []Blocker
	for _, b := range bs {
		out = append(out, Blocker{Principal: b.Principal, Database: b.Database, Dependency: b.Kind,
			ObjectType: b.ObjectType, Object: b.Object, Count: b.Count})
	}
	return out
}

// failedStatement says which statement err reports as failed, if any.
func failedStatement(err error) *Failed {
	var se *apply.StatementError
	if errors.As(err, &se) {
		return &Failed{Action: se.Change.Action, Principal: se.Change.Principal, SQL: se.Statement.Display(), Error: se.Err.Error()}
	}
	var ce *apply.CleanupError
	if errors.As(err, &ce) {
		return &Failed{Database: ce.Database, SQL: ce.Statement.Display(), Error: ce.Err.Error()}
	}
	return nil
}

// managed are the cells of s's grants, by grantee and database.
func managed(s spec.Server) []Managed {
	cells, defaults := diff.Cells(s, 0)
	var out []Managed
	at := func(grantee, db string) *Managed {
		if n := len(out); n > 0 && out[n-1].Grantee == grantee && out[n-1].Database == db {
			return &out[n-1]
		}
		out = append(out, Managed{Grantee: grantee, Database: db})
		return &out[len(out)-1]
	}
	for _, c := range cells {
		m := at(c.Grantee, c.Database)
		if n := len(m.On); n > 0 && m.On[n-1].Kind == c.On {
			m.On[n-1].Schemas = append(m.On[n-1].Schemas, c.Schema)
			continue
		}
		mk := ManagedKind{Kind: c.On}
		if c.Schema != "" {
			mk.Schemas = []string{c.Schema}
		}
		m.On = append(m.On, mk)
	}
	for _, d := range defaults {
		for i := range out {
			if out[i].Grantee == d.Grantee && out[i].Database == d.Database && !slices.Contains(out[i].DefaultsFor, d.Owner) {
				out[i].DefaultsFor = append(out[i].DefaultsFor, d.Owner)
			}
		}
	}
	return out
}

// committed says what a failed apply committed: the transactions of a
// sequence, or the hand-overs in other databases before a main
// transaction that failed. Nothing else commits before a failure.
func committed(err error) []string {
	var (
		pe *apply.PartialError
		se *apply.StatementError
		ce *apply.CleanupError
	)
	switch {
	case errors.As(err, &pe):
		return pe.Committed
	case errors.As(err, &se) && len(se.HandedOver) > 0:
		return apply.HandOvers(se.HandedOver)
	case errors.As(err, &ce) && len(ce.Done) > 0:
		return apply.HandOvers(ce.Done)
	}
	return nil
}

// Kind classifies a server's failure for machines (errorKind).
func Kind(status Status, err error) string {
	var (
		signIn   *connect.SignInError
		stale    *apply.StaleError
		lost     *apply.LostError
		reply    *apply.LostReplyError
		stmt     *apply.StatementError
		cleanup  *apply.CleanupError
		partial  *apply.PartialError
		planErr  *diff.Error
		cert     *connect.CertificateError
		unusable interface{ Unusable() }
	)
	switch {
	case status == Unknown:
		return "unknown-outcome"
	case errors.As(err, &partial):
		return "partial"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &signIn), errors.As(err, &unusable):
		return "sign-in"
	case errors.As(err, &cert):
		return "tls"
	case errors.Is(err, apply.ErrLocked):
		return "locked"
	case errors.As(err, &stale):
		return "stale"
	case errors.As(err, &planErr) && len(planErr.Blocked) > 0:
		return "blocked"
	case errors.As(err, &planErr):
		return "plan"
	case errors.As(err, &stmt), errors.As(err, &cleanup):
		return "statement"
	case errors.As(err, &lost), errors.As(err, &reply):
		return "connection-lost"
	case connect.Unreachable(err):
		return "unreachable"
	}
	return "other"
}
