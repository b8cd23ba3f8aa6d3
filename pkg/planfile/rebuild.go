package planfile

import (
	"encoding/json"
	"fmt"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// rebuild checks every server of a decoded plan and replaces its plan with
// the one pgusers computes from the recorded state: it returns what is
// wrong, or "".
func (p *Plan) rebuild() string {
	if len(p.Servers) == 0 {
		return "it holds no server"
	}
	seen := map[string]bool{}
	for i := range p.Servers {
		s := &p.Servers[i]
		name := s.Desired.Name
		quoted := spec.Quote(name) // the file may be anything
		switch {
		case name == "":
			return "a server has no name"
		case seen[name]:
			return fmt.Sprintf("server %s appears twice", quoted)
		case s.Desired.Host == "" || s.Desired.User == "":
			return fmt.Sprintf("server %s has no host or user", quoted)
		case s.Observed.Fingerprint() != s.Fingerprint:
			return fmt.Sprintf("server %s: the recorded state does not match its fingerprint", quoted)
		case s.Desired.TLSProblem() != "":
			// The files refuse it; a plan file is no way around them.
			return fmt.Sprintf("server %s: %s", quoted, s.Desired.TLSProblem())
		}
		seen[name] = true
		computed, err := diff.Compute(s.Desired, s.Observed)
		if err != nil {
			return fmt.Sprintf("server %s: its recorded state gives no plan (%v)", quoted, err)
		}
		if !sameSteps(computed, s.Plan) {
			return fmt.Sprintf("server %s: its changes are not what pgusers computes from the state the file records: "+
				"the file was altered", quoted)
		}
		if !sameBlockers(computed.Blockers, s.Plan.Blockers) {
			return fmt.Sprintf("server %s: what blocks its drops does not add up to what the recorded state counts", quoted)
		}
		// The statements to run are pgusers' own; the names of the
		// blockers, which plan read from the server, are kept to show.
		computed.Blockers = s.Plan.Blockers
		s.Plan = computed
	}
	return ""
}

// sameSteps compares what two plans of one server do: server, changes
// (statements included), kept principals and cleanups.
func sameSteps(a, b diff.Plan) bool {
	a.Blockers, b.Blockers = nil, nil
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// sameBlockers reports whether named (as Describe names them) accounts for
// exactly the objects counted (as Compute counts them).
func sameBlockers(counted, named []diff.Blocker) bool {
	type key struct {
		principal, database string
		kind                diff.DependencyKind
	}
	sum := map[key]int{}
	for _, b := range counted {
		sum[key{b.Principal, b.Database, b.Kind}] += b.Count
	}
	for _, b := range named {
		sum[key{b.Principal, b.Database, b.Kind}] -= b.Count
	}
	for _, n := range sum {
		if n != 0 {
			return false
		}
	}
	return true
}
