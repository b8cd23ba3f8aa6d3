package access

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Checks: what a finding is about.
const (
	CheckAttribute    = "attribute"      // SUPERUSER, CREATEROLE, CREATEDB, BYPASSRLS or REPLICATION
	CheckAdmin        = "azure_pg_admin" // a member of azure_pg_admin
	CheckPublicCreate = "public_create"  // PUBLIC may CREATE in a database or schema
	CheckPersonOwns   = "person_owns"    // a person's login owns objects
	CheckUndeclared   = "undeclared"     // privileges granted outside the files
)

// Finding is one thing an auditor (or the CIS PostgreSQL benchmark) asks
// to look at.
type Finding struct {
	Check   string `json:"check"`
	Grantee string `json:"grantee"`
	// Database is "" for what is the server's (attributes, memberships).
	Database string `json:"database"`
	Message  string `json:"message"`
}

// riskyAttributes are the attributes a finding names.
var riskyAttributes = []string{"SUPERUSER", "CREATEROLE", "CREATEDB", "BYPASSRLS", "REPLICATION"}

// builtinPublic reports whether PUBLIC's privilege is one PostgreSQL (or
// Azure) gives it by default: CONNECT and TEMPORARY on databases, EXECUTE
// on functions, USAGE on schema public. Those are no finding.
func builtinPublic(row Row) bool {
	switch row.Kind {
	case KindDatabase:
		return row.Privilege == "CONNECT" || row.Privilege == "TEMPORARY"
	case KindFunction:
		return row.Privilege == "EXECUTE"
	case KindSchema:
		return row.Object == "public" && row.Privilege == "USAGE"
	}
	return false
}

// findings are rows' findings, sorted by check, grantee and database.
func findings(rows []Row) []Finding {
	var out []Finding
	type key struct{ grantee, database string }
	owns := map[key]int{}
	undeclared := map[key]int{}
	for _, row := range rows {
		switch {
		case row.Kind == KindAttribute && slices.Contains(riskyAttributes, row.Privilege) && !spec.Reserved(row.Grantee):
			out = append(out, Finding{Check: CheckAttribute, Grantee: row.Grantee,
				Message: fmt.Sprintf("%s has %s", row.Grantee, row.Privilege)})
		case row.Kind == KindMembership && row.Object == spec.AdminRole:
			out = append(out, Finding{Check: CheckAdmin, Grantee: row.Grantee,
				Message: fmt.Sprintf("%s is a member of azure_pg_admin (%s): it can manage roles and reach the objects of every role that is not restricted",
					row.Grantee, row.Source)})
		case row.Grantee == spec.Public && row.Privilege == "CREATE" && row.Source == SourceDirect:
			where := "database " + row.Database
			if row.Kind == KindSchema {
				where = fmt.Sprintf("schema %s of database %s", row.Schema, row.Database)
			}
			out = append(out, Finding{Check: CheckPublicCreate, Grantee: spec.Public, Database: row.Database,
				Message: fmt.Sprintf("PUBLIC (every role) may CREATE in %s", where)})
		case row.Privilege == PrivilegeOwner && row.Source == SourceOwner && row.GranteeType == string(spec.User):
			owns[key{row.Grantee, row.Database}] += max(row.Objects, 1)
		case row.Source == SourceDirect && !row.Declared && row.Kind != KindAttribute &&
			!(row.Grantee == spec.Public && builtinPublic(row)):
			undeclared[key{row.Grantee, row.Database}]++
		}
	}
	for k, n := range owns {
		out = append(out, Finding{Check: CheckPersonOwns, Grantee: k.grantee, Database: k.database,
			Message: fmt.Sprintf("%s, a person's login, owns %d object(s) in %s: they go with the person; "+
				"give them to an owner role (REASSIGN OWNED BY ... TO ...)", k.grantee, n, k.database)})
	}
	for k, n := range undeclared {
		msg := fmt.Sprintf("%s holds %d privilege(s) in %s that the files do not declare", k.grantee, n, k.database)
		if k.database == "" {
			msg = fmt.Sprintf("%s has %d membership(s) that the files do not declare", k.grantee, n)
		}
		out = append(out, Finding{Check: CheckUndeclared, Grantee: k.grantee, Database: k.database, Message: msg})
	}
	sortFindings(out)
	return slices.Compact(out)
}

// sortFindings sorts findings by check, grantee, database and message.
func sortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(strings.Compare(a.Check, b.Check), strings.Compare(a.Grantee, b.Grantee),
			strings.Compare(a.Database, b.Database), strings.Compare(a.Message, b.Message))
	})
}
