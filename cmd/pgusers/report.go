package main

import (
	"errors"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/diff"
)

// The JSON document of CONTRACT.md. It is the public API of plan and apply:
// its own types, apart from the internal ones, so that internal changes
// never move it silently. The text and markdown views are rendered from it,
// so the views never disagree.

const formatVersion = "1"

type report struct {
	FormatVersion string `json:"formatVersion"`
	// DryRun is "client" or "server" when apply ran as a dry run: then
	// "changes" means the server would apply them.
	DryRun  string         `json:"dryRun,omitempty"`
	Servers []serverReport `json:"servers"`
	Summary summary        `json:"summary"`
}

type serverReport struct {
	Name    string         `json:"name"`
	Host    string         `json:"host"`
	Status  status         `json:"status"`
	Error   string         `json:"error"`
	Changes []changeReport `json:"changes"`
	// Kept are undeclared principals prune leaves alone, and why.
	Kept []keptReport `json:"kept,omitempty"`
	// Principals is how many Entra principals the server had when read.
	Principals int `json:"principals"`
	// Blockers are what the principals a plan drops or replaces own or
	// hold: handed over to reassignOwnedTo when the status is "changes",
	// the reason for the error when the server has none.
	Blockers []blockerReport `json:"blockers,omitempty"`
	// Cleanups run before the changes, each in its own transaction in
	// another database: they hand over what dropped principals own there.
	Cleanups []cleanupReport `json:"cleanups,omitempty"`
	// Failed is the statement that failed, when one did.
	Failed *failedReport `json:"failed,omitempty"`
}

type blockerReport struct {
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

type cleanupReport struct {
	Database   string   `json:"database"`
	Principals []string `json:"principals"`
	SQL        []string `json:"sql"`
}

type failedReport struct {
	// Database is set when the statement was one of a cleanup's.
	Database  string      `json:"database,omitempty"`
	Action    diff.Action `json:"action,omitempty"`
	Principal string      `json:"principal,omitempty"`
	SQL       string      `json:"sql"`
	Error     string      `json:"error"`
}

type changeReport struct {
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

type keptReport struct {
	Principal string `json:"principal"`
	Why       string `json:"why"`
}

type summary struct {
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

func buildReport(targets []*target) report {
	r := report{FormatVersion: formatVersion, Servers: make([]serverReport, 0, len(targets))}
	for _, t := range targets {
		sr := serverReport{
			Name:       t.server.Name,
			Host:       t.server.Host,
			Status:     t.status,
			Changes:    make([]changeReport, 0, len(t.plan.Changes)),
			Principals: len(t.observed.Principals),
		}
		if t.err != nil {
			sr.Error = t.err.Error()
		}
		for _, c := range t.plan.Changes {
			cr := changeReport{
				Action: c.Action, Principal: c.Principal, Type: c.Type, ObjectID: c.ObjectID,
				Admin: c.Admin, MFA: c.MFA, Role: c.Role, Reason: c.Reason, SQL: make([]string, len(c.Statements)),
			}
			for i, s := range c.Statements {
				cr.SQL[i] = s.Display()
			}
			sr.Changes = append(sr.Changes, cr)
			if t.status == statusError {
				// What failed to apply is listed, not counted.
				continue
			}
			switch c.Action {
			case diff.Create:
				r.Summary.Create++
			case diff.Drop:
				r.Summary.Drop++
			case diff.Replace:
				r.Summary.Replace++
			case diff.Grant:
				r.Summary.Grant++
			case diff.Revoke:
				r.Summary.Revoke++
			}
		}
		for _, k := range t.plan.Kept {
			sr.Kept = append(sr.Kept, keptReport{Principal: k.Principal, Why: k.Why})
		}
		sr.Blockers = blockerReports(t)
		for _, c := range t.plan.Cleanups {
			cr := cleanupReport{Database: c.Database, Principals: c.Principals, SQL: make([]string, len(c.Statements))}
			for i, s := range c.Statements {
				cr.SQL[i] = s.Display()
			}
			sr.Cleanups = append(sr.Cleanups, cr)
		}
		sr.Failed = failedStatement(t.err)
		switch t.status {
		case statusInSync:
			r.Summary.InSync++
		case statusChanges:
			r.Summary.WithChanges++
		case statusApplied:
			r.Summary.Applied++
		case statusError:
			r.Summary.Failed++
		}
		r.Servers = append(r.Servers, sr)
	}
	return r
}

// blockerReports lists what blocks or burdens the drops of t: the plan's
// blockers, or those of the error that refused it.
func blockerReports(t *target) []blockerReport {
	bs := t.plan.Blockers
	var de *diff.Error
	if t.status == statusError && errors.As(t.err, &de) {
		bs = de.Blocked
	}
	var out []blockerReport
	for _, b := range bs {
		out = append(out, blockerReport{Principal: b.Principal, Database: b.Database, Dependency: b.Kind,
			ObjectType: b.ObjectType, Object: b.Object, Count: b.Count})
	}
	return out
}

// failedStatement says which statement err reports as failed, if any.
func failedStatement(err error) *failedReport {
	var se *apply.StatementError
	if errors.As(err, &se) {
		return &failedReport{Action: se.Change.Action, Principal: se.Change.Principal, SQL: se.Statement.Display(), Error: se.Err.Error()}
	}
	var ce *apply.CleanupError
	if errors.As(err, &ce) {
		return &failedReport{Database: ce.Database, SQL: ce.Statement.Display(), Error: ce.Err.Error()}
	}
	return nil
}
