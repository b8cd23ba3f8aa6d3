package report

import (
	"errors"

	"github.com/pgusers/pgusers/pkg/apply"
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
	Port    int      `json:"-"`
	Status  Status   `json:"status"`
	Error   string   `json:"error"`
	Changes []Change `json:"changes"`
	// Kept are undeclared principals prune leaves alone, and why.
	Kept []Kept `json:"kept,omitempty"`
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
	Action    diff.Action `json:"action"`
	Principal string      `json:"principal"`
	Type      string      `json:"type,omitempty"`
	ObjectID  string      `json:"objectId,omitempty"`
	Admin     bool        `json:"admin,omitempty"`
	MFA       bool        `json:"mfa,omitempty"`
	Role      string      `json:"role,omitempty"`
	Reason    string      `json:"reason"`
	SQL       []string    `json:"sql"`
}

// Kept is an undeclared principal that prune leaves alone.
type Kept struct {
	Principal string `json:"principal"`
	Why       string `json:"why"`
}

// Summary counts the changes by action and the servers by status.
type Summary struct {
	Create      int `json:"create"`
	Drop        int `json:"drop"`
	Replace     int `json:"replace"`
	Grant       int `json:"grant"`
	Revoke      int `json:"revoke"`
	InSync      int `json:"inSync"`
	WithChanges int `json:"withChanges"`
	Applied     int `json:"applied"`
	Failed      int `json:"failed"`
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
		}
		if res.Err != nil {
			s.Error = res.Err.Error()
		}
		for _, c := range res.Plan.Changes {
			s.Changes = append(s.Changes, change(c))
			if res.Status != Error {
				// What failed to apply is listed, not counted.
				r.Summary.count(c.Action)
			}
		}
		for _, k := range res.Plan.Kept {
			s.Kept = append(s.Kept, Kept{Principal: k.Principal, Why: k.Why})
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
	}
}

// Changes is how many changes the summary counts.
func (s Summary) Changes() int { return s.Create + s.Replace + s.Drop + s.Grant + s.Revoke }

func change(c diff.Change) Change {
	return Change{Action: c.Action, Principal: c.Principal, Type: c.Type, ObjectID: c.ObjectID,
		Admin: c.Admin, MFA: c.MFA, Role: c.Role, Reason: c.Reason, SQL: display(c.Statements)}
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
