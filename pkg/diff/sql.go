package diff

import (
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
