package diff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Action is what a change does to a server.
type Action string

const (
	// Rename renames a principal whose name changed in Entra (renamedFrom):
	// the role keeps its object id, memberships, grants and objects.
	Rename Action = "rename"
	// Create makes a principal the server lacks.
	Create Action = "create"
	// Replace drops a principal whose type, object id, admin or MFA flag
	// differs and creates it again as declared. The role loses its grants
	// and memberships; the plan grants the declared memberships again.
	Replace Action = "replace"
	// CreateRole makes a group role the server lacks (NOLOGIN).
	CreateRole Action = "create-role"
	// AlterRole sets a group role's comment.
	AlterRole Action = "alter-role"
	// Grant makes a principal or a group role a member of a role.
	Grant Action = "grant"
	// Revoke ends a principal's or a group role's membership of a role.
	Revoke Action = "revoke"
	// GrantPrivileges grants privileges a managed cell lacks.
	GrantPrivileges Action = "grant-privileges"
	// RevokePrivileges revokes privileges a managed cell holds and does
	// not declare (or, GrantOption, only their grant option).
	RevokePrivileges Action = "revoke-privileges"
	// GrantDefaults adds to an owner's default privileges.
	GrantDefaults Action = "grant-defaults"
	// RevokeDefaults removes from an owner's default privileges.
	RevokeDefaults Action = "revoke-defaults"
	// DropRole drops a group role declared absent.
	DropRole Action = "drop-role"
	// Drop removes a principal that no file declares (prune only).
	Drop Action = "drop"
)

// Symbol is the mark shown before a change in the text plan.
func (a Action) Symbol() string {
	switch a {
	case Create, Grant, CreateRole, GrantPrivileges, GrantDefaults:
		return "+"
	case Drop, Revoke, DropRole, RevokePrivileges, RevokeDefaults:
		return "-"
	case Replace:
		return "-/+"
	case Rename, AlterRole:
		return "~"
	}
	return "?"
}

// Actions are every action in the order a plan runs them.
var Actions = []Action{Rename, Create, Replace, CreateRole, AlterRole, Grant, Revoke,
	GrantPrivileges, RevokePrivileges, GrantDefaults, RevokeDefaults, DropRole, Drop}

// Dropping reports whether the action drops a role.
func (a Action) Dropping() bool { return a == Drop || a == Replace || a == DropRole }

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
	// Principal is the Entra principal the change is about; for grant and
	// revoke, the member, which may be a group role.
	Principal string `json:"principal,omitempty"`
	// Type, ObjectID, Admin and MFA describe the principal as it will be
	// (create, replace) or as it is (drop). ObjectID is "" when the server
	// resolves the name itself.
	Type     string `json:"type"`
	ObjectID string `json:"objectId"`
	Admin    bool   `json:"admin"`
	MFA      bool   `json:"mfa"`
	// Role is the role granted or revoked (grant, revoke), or the group
	// role the change is about (create-role, alter-role, drop-role).
	Role string `json:"role,omitempty"`
	// From is the principal's name before a rename.
	From string `json:"from,omitempty"`
	// Comment is a group role's comment as it will be (create-role,
	// alter-role).
	Comment string `json:"comment,omitempty"`
	// Grantee, Database, On and Schema name the cell of a privilege change
	// (Schema is "" for On database); Owner is the role whose default
	// privileges a defaults change is about. Privileges are granted or
	// revoked, in the kind's order. GrantOption means that only the grant
	// option of Privileges is revoked.
	Grantee     string    `json:"grantee,omitempty"`
	Database    string    `json:"database,omitempty"`
	On          spec.Kind `json:"on,omitempty"`
	Schema      string    `json:"schema,omitempty"`
	Owner       string    `json:"owner,omitempty"`
	Privileges  []string  `json:"privileges,omitempty"`
	GrantOption bool      `json:"grantOption,omitempty"`
	// Table and Column narrow a privilege change on tables to the column
	// privileges of one column of one table of Schema.
	Table  string `json:"table,omitempty"`
	Column string `json:"column,omitempty"`
	// In is the database whose transaction runs the change, "" for the
	// main transaction (the database pgusers connects to): the changes of
	// objects in another database run there.
	In string `json:"in,omitempty"`
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
	// Lends are the roles the signed-in user is made a member of for the
	// privilege changes of one transaction, granted first and revoked
	// last: PostgreSQL lets only an owner (or a member of it) grant on its
	// objects and change its default privileges. Sorted by database.
	Lends []Lend `json:"lends,omitempty"`
	// Withheld are the changes managed cells need that the plan leaves
	// out, and why; in cell order. They are not changes: a plan of
	// withheld changes only is in sync.
	Withheld []Withheld `json:"withheld,omitempty"`
}

// Withheld is a change a managed cell needs that pgusers does not make,
// and why: a revoke that would take along privileges other roles depend
// on (without cascade), or one of privileges a role it cannot act as
// granted. Applied, it would fail, or report done and change nothing: so
// it is said, once a plan, and left to the user, and the rest of the
// plan goes on.
type Withheld struct {
	Cell
	Why string `json:"why"`
}

// Lend is the roles lent to the signed-in user in one transaction.
type Lend struct {
	// In is the database, "" for the main transaction.
	In    string   `json:"in"`
	Roles []string `json:"roles"`
}

// LendsIn returns the roles lent in the transaction of database in.
func (p Plan) LendsIn(in string) []string {
	for _, l := range p.Lends {
		if l.In == in {
			return l.Roles
		}
	}
	return nil
}

// Elsewhere are the databases other than the main one whose transactions
// run changes, sorted.
func (p Plan) Elsewhere() []string {
	var dbs []string
	for _, c := range p.Changes {
		if c.In != "" && !slices.Contains(dbs, c.In) {
			dbs = append(dbs, c.In)
		}
	}
	slices.Sort(dbs)
	return dbs
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
			lines[i] = fmt.Sprintf("principal %s: %s", SafeName(p.Principal), p.Msg)
		} else {
			lines[i] = p.Msg
		}
	}
	return strings.Join(lines, "\n")
}

// SafeName is name as it can be shown: as it is, unless it holds a control
// character (a line break, an escape code) or one that reorders text, when
// it is quoted with Go's escapes. Role names come from servers as well as
// files: one must not forge a line of a message or rewrite a terminal.
func SafeName(name string) string {
	if strings.ContainsFunc(name, Unsafe) || !utf8.ValidString(name) {
		return strconv.Quote(name)
	}
	return name
}

// Unsafe reports a character no name should reach a terminal or a log
// with as it is: a control character, a line or paragraph separator, a
// bidirectional embedding, override, isolate or mark, or the replacement
// character that stands for invalid UTF-8.
func Unsafe(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') ||
		(r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f' || r == '\u061c' || r == utf8.RuneError
}
