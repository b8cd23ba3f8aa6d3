package diff

import (
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/spec"
)

// The statements a plan runs. Names are quoted identifiers, values are
// arguments: nothing from a file is ever spliced into SQL as text.

func createStatement(p spec.Principal) Statement {
	if p.ObjectID != "" {
		return Statement{
			SQL:  "SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, $3, $4, $5)",
			Args: []any{p.Name, p.ObjectID, string(p.Type), p.Admin, p.MFA},
		}
	}
	return Statement{
		SQL:  "SELECT pg_catalog.pgaadauth_create_principal($1, $2, $3)",
		Args: []any{p.Name, p.Admin, p.MFA},
	}
}

func dropStatement(name string) Statement {
	return Statement{SQL: "DROP ROLE " + ident(name)}
}

func grantStatement(role, member string) Statement {
	return Statement{SQL: "GRANT " + ident(role) + " TO " + ident(member)}
}

func revokeStatement(role, member string) Statement {
	return Statement{SQL: "REVOKE " + ident(role) + " FROM " + ident(member)}
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// handOverStatements give what principals own in the current database to
// role to, then drop what they still hold there (privileges, policies).
// REASSIGN OWNED and DROP OWNED need the privileges of every role they
// name, which an Entra administrator does not have by default: the
// signed-in user me is granted the roles it lacks for as long as the
// statements run, in the same transaction.
func handOverStatements(principals []string, to, me string, has func(string) bool) []Statement {
	var lacking []string
	for _, r := range append(slices.Clone(principals), to) {
		if !has(r) && !slices.Contains(lacking, r) {
			lacking = append(lacking, r)
		}
	}
	var out []Statement
	for _, r := range lacking {
		out = append(out, Statement{SQL: "GRANT " + ident(r) + " TO " + ident(me)})
	}
	names := make([]string, len(principals))
	for i, p := range principals {
		names[i] = ident(p)
	}
	out = append(out,
		Statement{SQL: "REASSIGN OWNED BY " + strings.Join(names, ", ") + " TO " + ident(to)},
		Statement{SQL: "DROP OWNED BY " + strings.Join(names, ", ")},
	)
	for _, r := range slices.Backward(lacking) {
		out = append(out, Statement{SQL: "REVOKE " + ident(r) + " FROM " + ident(me)})
	}
	return out
}
