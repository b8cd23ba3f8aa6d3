package main

import (
	"encoding/json"
	"io"

	"github.com/pgusers/pgusers/pkg/diff"
)

// The JSON document of CONTRACT.md. It is the public API of plan and apply:
// its own types, apart from the internal ones, so that internal changes
// never move it silently. The text and markdown views are rendered from it,
// so the views never disagree.

const formatVersion = "1"

type report struct {
	FormatVersion string         `json:"formatVersion"`
	Servers       []serverReport `json:"servers"`
	Summary       summary        `json:"summary"`
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
			Changes:    []changeReport{},
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

func writeJSON(w io.Writer, r report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
