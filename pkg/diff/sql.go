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
// name, and DROP OWNED revokes a privilege as the owner of its object,
// which an Entra administrator is not by default: the signed-in user me is
// granted the roles it lacks (the principals, to, and owners, those whose
// objects the principals hold privileges on) for as long as the statements
// run, in the same transaction.
func handOverStatements(principals []string, to, me string, has func(string) bool, owners ...string) []Statement {
	var lacking []string
	for _, r := range append(append(slices.Clone(principals), to), owners...) {
		if r == me {
			continue
		}
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

// grantee renders a grantee: PUBLIC is a keyword, every other name an
// identifier.
func grantee(name string) string {
	if name == spec.Public {
		return "PUBLIC"
	}
	return ident(name)
}

// onClause is what a privilege statement of kind k in schema (or on
// database db) applies to: every object of the kind in the schema.
func onClause(k spec.Kind, db, schema string) string {
	switch k {
	case spec.KindDatabase:
		return "DATABASE " + ident(db)
	case spec.KindSchema:
		return "SCHEMA " + ident(schema)
	case spec.KindTables:
		return "ALL TABLES IN SCHEMA " + ident(schema)
	case spec.KindSequences:
		return "ALL SEQUENCES IN SCHEMA " + ident(schema)
	case spec.KindFunctions:
		// ROUTINES: functions and procedures alike.
		return "ALL ROUTINES IN SCHEMA " + ident(schema)
	}
	panic("diff: no ON clause for kind " + string(k))
}

// defaultsClause is the object type of an ALTER DEFAULT PRIVILEGES.
func defaultsClause(k spec.Kind) string {
	switch k {
	case spec.KindTables:
		return "TABLES"
	case spec.KindSequences:
		return "SEQUENCES"
	case spec.KindFunctions:
		return "FUNCTIONS"
	}
	panic("diff: no default privileges for kind " + string(k))
}

func grantPrivilegesStatement(k spec.Kind, db, schema, to string, privs []string) Statement {
	return Statement{SQL: "GRANT " + strings.Join(privs, ", ") + " ON " + onClause(k, db, schema) + " TO " + grantee(to)}
}

func revokePrivilegesStatement(k spec.Kind, db, schema, from string, privs []string, grantOption, cascade bool) Statement {
	return revokeOn(onClause(k, db, schema), from, privs, grantOption, cascade)
}

// revokeOn revokes privs (or their grant option) on what on names from
// from; with cascade, also what from passed on from its grant option.
func revokeOn(on, from string, privs []string, grantOption, cascade bool) Statement {
	option, tail := "", ""
	if grantOption {
		option = "GRANT OPTION FOR "
	}
	if cascade {
		tail = " CASCADE"
	}
	return Statement{SQL: "REVOKE " + option + strings.Join(privs, ", ") + " ON " + on + " FROM " + grantee(from) + tail}
}

// objectsClause names objects of kind k, as pg_identify_object quotes
// them (a name read from the server, every part quoted as SQL needs it:
// the server, not a file, wrote it), or the database db or the schema
// itself for those kinds: what a revoke run as a grantor applies to,
// object by object.
func objectsClause(k spec.Kind, db, schema string, objects []string) string {
	switch k {
	case spec.KindDatabase, spec.KindSchema:
		return onClause(k, db, schema)
	case spec.KindTables:
		return "TABLE " + strings.Join(objects, ", ")
	case spec.KindSequences:
		return "SEQUENCE " + strings.Join(objects, ", ")
	case spec.KindFunctions:
		return "ROUTINE " + strings.Join(objects, ", ")
	}
	panic("diff: no objects clause for kind " + string(k))
}

// asRole runs statements as role (SET ROLE), then as the session user
// again: what a role granted, only that role revokes.
func asRole(role string, statements ...Statement) []Statement {
	out := []Statement{{SQL: "SET ROLE " + ident(role)}}
	out = append(out, statements...)
	return append(out, Statement{SQL: "RESET ROLE"})
}

func defaultsStatement(grant bool, owner, schema string, k spec.Kind, to string, privs []string, grantOption bool) Statement {
	head := "ALTER DEFAULT PRIVILEGES FOR ROLE " + ident(owner) + " IN SCHEMA " + ident(schema) + " "
	if grant {
		return Statement{SQL: head + "GRANT " + strings.Join(privs, ", ") + " ON " + defaultsClause(k) + " TO " + grantee(to)}
	}
	option := ""
	if grantOption {
		option = "GRANT OPTION FOR "
	}
	return Statement{SQL: head + "REVOKE " + option + strings.Join(privs, ", ") + " ON " + defaultsClause(k) + " FROM " + grantee(to)}
}

func createRoleStatement(name string) Statement {
	return Statement{SQL: "CREATE ROLE " + ident(name) + " NOLOGIN"}
}

// commentStatement sets a role's comment. COMMENT takes no parameters, so
// the comment is a literal: quotes doubled, which is all a literal needs
// with standard_conforming_strings on (pgx refuses servers without it, and
// the files refuse control characters in comments). NULL removes it.
func commentStatement(role, comment string) Statement {
	lit := "NULL"
	if comment != "" {
		lit = "'" + strings.ReplaceAll(comment, "'", "''") + "'"
	}
	return Statement{SQL: "COMMENT ON ROLE " + ident(role) + " IS " + lit}
}

func renameStatement(from, to string) Statement {
	return Statement{SQL: "ALTER ROLE " + ident(from) + " RENAME TO " + ident(to)}
}

// LendStatements grant the roles to the signed-in user me, and the
// statements that take them back: what a transaction runs first and last
// around the changes that need them.
func LendStatements(roles []string, me string) (lend, unlend []Statement) {
	for _, r := range roles {
		lend = append(lend, Statement{SQL: "GRANT " + ident(r) + " TO " + ident(me)})
	}
	for _, r := range slices.Backward(roles) {
		unlend = append(unlend, Statement{SQL: "REVOKE " + ident(r) + " FROM " + ident(me)})
	}
	return lend, unlend
}
