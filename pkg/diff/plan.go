package diff

import (
	"fmt"
	"strconv"
	"strings"
)

// Action is what a change does to a server.
type Action string

const (
	// Create makes a principal the server lacks.
	Create Action = "create"
	// Replace drops a principal whose type, object id, admin or MFA flag
	// differs and creates it again as declared. The role loses its grants
	// and memberships; the plan grants the declared memberships again.
	Replace Action = "replace"
	// Grant makes a principal a member of a role.
	Grant Action = "grant"
	// Revoke ends a principal's membership of a role.
	Revoke Action = "revoke"
	// Drop removes a principal that no file declares (prune only).
	Drop Action = "drop"
)

// Symbol is the mark shown before a change in the text plan.
func (a Action) Symbol() string {
	switch a {
	case Create, Grant:
		return "+"
	case Drop, Revoke:
		return "-"
	case Replace:
		return "-/+"
	}
	return "?"
}

// Actions are every action in the order a plan runs them.
var Actions = []Action{Create, Replace, Grant, Revoke, Drop}

// Statement is one SQL statement with its arguments. Identifiers are already
// quoted into SQL; every value is an argument ($1, $2, ...).
type Statement struct {
	SQL  string `json:"sql"`
	Args []any  `json:"args"`
}

// Display renders the statement with its arguments as SQL literals, for
// people to read. It is never executed.
func (s Statement) Display() string {
	if len(s.Args) == 0 {
		return s.SQL
	}
	n := len(s.SQL)
	for _, a := range s.Args {
		if v, ok := a.(string); ok {
			n += len(v) + 2 // more when it holds quotes
		} else {
			n += 5
		}
	}
	b := make([]byte, 0, n)
	sql := s.SQL
	for i := 0; i < len(sql); i++ {
		if sql[i] != '$' {
			b = append(b, sql[i])
			continue
		}
		j := i + 1
		for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(sql[i+1 : j])
		if err != nil || n < 1 || n > len(s.Args) {
			b = append(b, sql[i])
			continue
		}
		b = appendLiteral(b, s.Args[n-1])
		i = j - 1
	}
	return string(b)
}

func appendLiteral(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		b = append(b, '\'')
		for {
			i := strings.IndexByte(v, '\'')
			if i < 0 {
				break
			}
			b = append(b, v[:i+1]...)
			b = append(b, '\'')
			v = v[i+1:]
		}
		return append(append(b, v...), '\'')
	case bool:
		return strconv.AppendBool(b, v)
	case nil:
		return append(b, "NULL"...)
	default:
		return fmt.Append(b, v)
	}
}

// Change is one step of a plan.
type Change struct {
	Action Action `json:"action"`
	// Principal is the Entra principal the change is about.
	Principal string `json:"principal"`
	// Type, ObjectID, Admin and MFA describe the principal as it will be
	// (create, replace) or as it is (drop). ObjectID is "" when the server
	// resolves the name itself.
	Type     string `json:"type"`
	ObjectID string `json:"objectId"`
	Admin    bool   `json:"admin"`
	MFA      bool   `json:"mfa"`
	// Role is the role granted or revoked (grant, revoke).
	Role string `json:"role"`
	// Reason says why the change is in the plan.
	Reason string `json:"reason"`
	// Statements run the change, in order.
	Statements []Statement `json:"statements"`
}

// Kept is an Entra principal that prune would otherwise drop, and why it
// stays.
type Kept struct {
	Principal string `json:"principal"`
	Why       string `json:"why"`
}

// Plan is every change one server needs, in the order they run: creates,
// replaces, grants, revokes, drops; each group sorted by principal, then
// role.
//
// A drop or replace of a principal that owns objects or holds privileges
// (its Blockers) is possible only with the server's reassignOwnedTo: the
// change's own statements then run REASSIGN OWNED and DROP OWNED in the
// database pgusers is connected to before DROP ROLE, and Cleanups do the
// same in every other database, each in its own transaction, before the
// main one.
type Plan struct {
	Server  string   `json:"server"`
	Changes []Change `json:"changes"`
	// Kept lists undeclared principals that prune leaves alone.
	Kept []Kept `json:"kept"`
	// Cleanups run first, one transaction per database, sorted by
	// database.
	Cleanups []Cleanup `json:"cleanups"`
	// Blockers are what the principals the plan drops or replaces own or
	// hold, which the plan hands over to reassignOwnedTo; sorted.
	Blockers []Blocker `json:"blockers"`
}

// InSync reports whether the server needs no change.
func (p Plan) InSync() bool { return len(p.Changes) == 0 }

// Count returns how many changes of each action the plan holds.
func (p Plan) Count() map[Action]int {
	n := make(map[Action]int, len(Actions))
	for _, c := range p.Changes {
		n[c.Action]++
	}
	return n
}

// Statements are every statement of the plan, in order.
func (p Plan) Statements() []Statement {
	var out []Statement
	for _, c := range p.Changes {
		out = append(out, c.Statements...)
	}
	return out
}

// Problem is one reason a server's plan cannot be made.
type Problem struct {
	Principal string // "" when it concerns the server as a whole
	Msg       string
}

// Error is returned when the desired and observed state cannot be
// reconciled safely. It holds every problem found, not just the first.
type Error struct {
	Server   string
	Problems []Problem
	// Blocked are what make the drops of the plan fail: what the principals
	// it would drop or replace own or hold, on a server without
	// reassignOwnedTo. Sorted.
	Blocked []Blocker
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		if p.Principal != "" {
			lines[i] = fmt.Sprintf("principal %s: %s", p.Principal, p.Msg)
		} else {
			lines[i] = p.Msg
		}
	}
	return strings.Join(lines, "\n")
}
