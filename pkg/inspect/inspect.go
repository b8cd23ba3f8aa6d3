package inspect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Batcher is what Inspect and Apply send their statements through: a
// *pgx.Conn or a pgx.Tx.
type Batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// No inspection query orders its rows: ReadQueued sorts every list
// (Observed.Normalize), which costs the client less than the server, and
// the same state still gives the same Observed.

// principalsSQL reads pgaadauth_list_principals(false) by position (the
// alias list renames whatever the server calls its columns: its docs spell
// the first one two ways). The flags are ints: pgx reads a bool, sent as
// text, by allocating.
const principalsSQL = `SELECT p.rolname::text, p.principaltype::text, coalesce(p.objectid::text, ''),
       coalesce(p.tenantid::text, ''), p.ismfa::int, p.isadmin::int
FROM pg_catalog.pgaadauth_list_principals(false) AS p(rolname, principaltype, objectid, tenantid, ismfa, isadmin)`

// roleNamesSQL reads every role's name: readSnapshot keeps those that are
// not principals, of which ReadQueued picks the names asked about. It is
// a statement of its own, not an outer join with the list, because a join
// of 10,000 principals with 10,000 roles costs the server more (about 40 ms
// against 31 for the three statements here) than sending the names twice
// costs the client. Sending the names asked about instead would make the
// read wait for the files to be decoded.
const roleNamesSQL = `SELECT r.rolname::text FROM pg_catalog.pg_roles r`

// membershipsSQL reads the direct memberships of every role that is a
// member of one, by member: readSnapshot keeps them all, the principals' in
// their MemberOf and the other roles' for Observed.GroupRoles.
const membershipsSQL = `SELECT mr.rolname::text, array_agg(g.rolname::text)
FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
JOIN pg_catalog.pg_roles mr ON mr.oid = am.member
GROUP BY mr.rolname`

// The roles whose privileges the signed-in user has, of every role:
// ReadQueued keeps those of Observed.SessionRoles. A statement of its own
// costs the server no more than a column of roleNamesSQL, and sends only these
// roles, usually few.
const sessionRolesSQL = `SELECT r.rolname::text FROM pg_catalog.pg_roles r
WHERE pg_catalog.pg_has_role(session_user, r.oid, 'USAGE')`

const sessionSQL = `SELECT session_user::text, pg_catalog.current_database()::text,
       pg_catalog.current_setting('server_version_num')::int,
       lower(coalesce(pg_catalog.current_setting('pgaadauth.enable_group_sync', true), '')) IN ('on', 'true', 'yes', '1')`

// roleCommentsSQL reads the comments of the roles that have one (few):
// readSnapshot keeps those of the roles that are not principals.
const roleCommentsSQL = `SELECT r.rolname::text, d.description
FROM pg_catalog.pg_shdescription d
JOIN pg_catalog.pg_roles r ON r.oid = d.objoid
WHERE d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass`

// databasesSQL reads every database but the templates from the shared
// catalog, one row per entry of its access control list (NULL is the
// default one, PUBLIC's CONNECT and TEMPORARY among it), leaving out the
// owner's own entries and the grantees that are no role: a handful of rows
// per database, and databases are few, so the owner's pg_has_role calls
// cost nothing worth a statement of their own. A database whose ACL holds
// only its owner's entries is one row without a grantee. An entry that a
// role other than the owner granted names that grantor, with its facts
// (NULL for the owner's entries): only it revokes the entry.
const databasesSQL = `SELECT d.datname::text, o.rolname::text, o.rolsuper,
       pg_catalog.pg_has_role(session_user, d.datdba, 'MEMBER'),
       pg_catalog.pg_has_role(session_user, d.datdba, 'USAGE'),
       EXISTS (SELECT FROM pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) c
               WHERE c.privilege_type = 'CONNECT' AND c.grantee <> 0
                 AND pg_catalog.pg_has_role(session_user, c.grantee, 'USAGE')),
       a.grantee, a.privilege, a.grantable, a.grantor, a.super, a.member, a.usage
FROM pg_catalog.pg_database d
JOIN pg_catalog.pg_roles o ON o.oid = d.datdba
LEFT JOIN LATERAL (
  SELECT CASE x.grantee WHEN 0 THEN 'PUBLIC' ELSE g.rolname::text END AS grantee,
         x.privilege_type::text AS privilege, x.is_grantable AS grantable,
         r.rolname::text AS grantor, r.rolsuper AS super,
         pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER') AS member,
         pg_catalog.pg_has_role(session_user, r.oid, 'USAGE') AS usage
  FROM pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) x
  LEFT JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
  LEFT JOIN pg_catalog.pg_roles r ON r.oid = x.grantor AND x.grantor <> d.datdba
  WHERE x.grantee <> d.datdba AND (x.grantee = 0 OR g.oid IS NOT NULL)
) a ON true
WHERE NOT d.datistemplate`

// ownershipSQL reads pg_shdepend once for two answers, as rows of two
// shapes (the reader tells them apart by the owner, NULL in the first):
//
//   - what would make DROP ROLE of a principal fail: the entries that name
//     a role, counted per role, database (empty for the cluster's own objects)
//     and kind, with the owner NULL. pg_shdepend is shared, so this one read
//     sees every database, but it holds only object ids: naming the objects
//     takes a connection to their database (Describe), which is only worth
//     it for principals a plan drops.
//   - for every role that holds privileges on objects of others, whose
//     objects they are, per database, with the count NULL: the owners a
//     hand-over must act as for DROP OWNED to revoke those privileges (it
//     revokes as the objects' owner). pg_shdepend records an object's
//     owner and the roles holding privileges on it side by side, so the
//     shared catalog answers without a connection to each database;
//     objects of the bootstrap superuser have no owner entry and are not
//     seen.
//
// It reads every role's entries (usually few: the bootstrap superuser's are
// not recorded) and ReadQueued keeps the Entra principals' and those of the
// roles asked about: filtering here would call pgaadauth_list_principals a
// second time, the costliest part of a read.
//
// No plan of it can be quadratic, whatever pg_shdepend's statistics say
// (they are rarely fresh: a planner that expected a handful of rows once
// probed an index per privilege held, 300,000 probes and 1.9 s on 5
// databases of 6,000 tables granted to 10 roles). The entries are read once
// (s) and only ever aggregated, never joined with each other: the owner
// and the holders of an object are its group's aggregates (o), each a
// single pass by hash or by sort. Only the aggregates, a few rows per role
// and database, are joined with pg_roles and pg_database, whose oids are
// unique and indexed. Whatever plan the planner is forced to, it does at
// most 9 times as many rows of work as there are entries
// (TestOwnershipReadIsNeverQuadratic, in bench/); on 330,000 entries it
// takes about half the time of the two reads it replaced, whose owner
// entries were joined with the privilege entries and counts grouped by
// name (BenchmarkOwnershipRead: 369 against 773 ms never analysed, 534
// against 944 ms with statistics taken when nearly empty, on a loaded
// 2-core machine).
const ownershipSQL = `WITH s AS MATERIALIZED (
  SELECT dbid, classid, objid, refobjid, deptype FROM pg_catalog.pg_shdepend
  WHERE refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
), c AS (
  SELECT refobjid AS role, dbid, deptype, count(*) AS n FROM s GROUP BY refobjid, dbid, deptype
), o AS (
  SELECT dbid, max(refobjid) FILTER (WHERE deptype = 'o') AS owner,
         array_agg(refobjid) FILTER (WHERE deptype = 'a') AS holders
  FROM s WHERE deptype IN ('o', 'a')
  GROUP BY dbid, classid, objid
), h AS (
  SELECT DISTINCT x.holder AS role, o.dbid, o.owner
  FROM o CROSS JOIN LATERAL unnest(o.holders) AS x(holder)
  WHERE x.holder <> o.owner
)
SELECT r.rolname::text, coalesce(d.datname::text, ''), c.deptype::text, c.n::int, NULL::text, NULL::bool
FROM c
JOIN pg_catalog.pg_roles r ON r.oid = c.role
LEFT JOIN pg_catalog.pg_database d ON d.oid = c.dbid
UNION ALL
SELECT r.rolname::text, coalesce(d.datname::text, ''), NULL, NULL, w.rolname::text, w.rolsuper
FROM h
JOIN pg_catalog.pg_roles r ON r.oid = h.role
JOIN pg_catalog.pg_roles w ON w.oid = h.owner
LEFT JOIN pg_catalog.pg_database d ON d.oid = h.dbid`

// Queue adds the inspection queries to b; ReadQueued reads their results
// in the same order. Split so that apply can put them in the batch that
// takes its lock.
func Queue(b *pgx.Batch) {
	for _, sql := range Statements() {
		b.Queue(sql)
	}
}

// Statements are the inspection queries, in the order ReadQueued reads
// their results: for a caller that sends them in a pipeline of its own.
// None takes arguments.
func Statements() []string {
	return []string{sessionSQL, principalsSQL, roleNamesSQL, membershipsSQL, sessionRolesSQL, ownershipSQL,
		roleCommentsSQL, databasesSQL}
}

// Snapshot is one read of a server: what Inspect returns before it is
// narrowed to the names a desired state asks about. Reading takes only a
// connection, so it can start while the files are still being decoded.
type Snapshot struct {
	sessionUser, database string
	serverVersion         int
	groupSync             bool
	// principals are sorted by name, their memberships too; deps are
	// sorted and only the principals'.
	principals []diff.ObservedPrincipal
	deps       []diff.Dependency
	heldFrom   []diff.HeldFrom
	// others are the roles that are not Entra principals, sorted by name,
	// with their comments and (sorted) memberships.
	others []diff.ObservedRole
	usable []string // the roles whose privileges the signed-in user has
	// databases are every database but the templates, sorted by name.
	databases []sharedDatabase
}

// sharedDatabase is what the shared catalog says of a database.
type sharedDatabase struct {
	name  string
	owner diff.RoleFact
	// connect: the signed-in user may connect without PUBLIC's CONNECT.
	connect bool
	// acl is every grantee's entries but the owner's, sorted.
	acl []diff.Privilege
	// delegated are the entries of acl a role other than the owner
	// granted, and grantors those roles' facts.
	delegated []diff.Delegated
	grantors  []diff.RoleFact
}

// readSnapshot reads what Queue queued.
func readSnapshot(br pgx.BatchResults) (Snapshot, error) {
	var s Snapshot
	if err := br.QueryRow().Scan(&s.sessionUser, &s.database, &s.serverVersion, &s.groupSync); err != nil {
		return s, fmt.Errorf("read the signed-in user: %w", err)
	}
	var err error
	if s.principals, err = readPrincipals(br); err != nil {
		return s, fmt.Errorf("list principals: %w", err)
	}
	// Sorted by name (and so in Observed order) for the look-ups below.
	slices.SortFunc(s.principals, func(a, b diff.ObservedPrincipal) int { return strings.Compare(a.Name, b.Name) })
	if s.others, err = readOthers(br, s.principals); err != nil {
		return s, fmt.Errorf("read roles: %w", err)
	}
	if err := readMemberships(br, s.principals, s.others); err != nil {
		return s, fmt.Errorf("read memberships: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return s, fmt.Errorf("read roles: %w", err)
	}
	s.usable, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return s, fmt.Errorf("read roles: %w", err)
	}
	deps, heldFrom, err := readOwnership(br)
	if err != nil {
		return s, fmt.Errorf("read what principals own or hold: %w", err)
	}
	s.heldFrom = heldFrom
	if err := readComments(br, s.others); err != nil {
		return s, fmt.Errorf("read role comments: %w", err)
	}
	if s.databases, err = readDatabases(br); err != nil {
		return s, fmt.Errorf("read databases: %w", err)
	}
	for i := range s.others {
		slices.Sort(s.others[i].MemberOf)
	}
	o := diff.Observed{Principals: s.principals, Dependencies: deps}
	o.Normalize() // sorts the memberships and the dependencies too
	s.principals, s.deps = o.Principals, o.Dependencies
	return s, nil
}

// Observed is the snapshot as far as a plan that asks a needs it:
// Observed.Roles, SessionRoles and GroupRoles are about a.Names, Databases
// about a.Scopes (their shared-catalog part: Owner and ACL; ReadDatabase
// and Merge add what the databases themselves hold), Owners about those
// databases' owners.
func (s Snapshot) Observed(a Asked) diff.Observed {
	names := a.Names
	o := diff.Observed{SessionUser: s.sessionUser, Database: s.database, ServerVersion: s.serverVersion, GroupSync: s.groupSync,
		Principals: s.principals}
	if !slices.IsSorted(names) {
		names = slices.Sorted(slices.Values(names))
	}
	// What the Entra principals own or hold, and the roles asked about
	// (a group role declared absent is dropped as a principal is).
	kept := func(role string) bool {
		_, entra := principalIndex(s.principals, role)
		_, asked := slices.BinarySearch(names, role)
		return entra || asked
	}
	for _, d := range s.deps {
		if kept(d.Principal) {
			o.Dependencies = append(o.Dependencies, d)
		}
	}
	for _, h := range s.heldFrom {
		if kept(h.Principal) {
			o.HeldFrom = append(o.HeldFrom, h)
		}
	}
	o.Roles = appendPrincipalsAmong(make([]string, 0, len(names)), names, o.Principals)
	for _, r := range s.others {
		if _, asked := slices.BinarySearch(names, r.Name); asked {
			o.Roles = append(o.Roles, r.Name)
			r.MemberOf = slices.Clone(r.MemberOf)
			o.GroupRoles = append(o.GroupRoles, r)
		}
	}
	slices.Sort(o.Roles)
	owners := map[string]bool{}
	for _, h := range o.HeldFrom {
		owners[h.Owner] = true
	}
	o.SessionRoles = slices.DeleteFunc(slices.Clone(s.usable), func(r string) bool {
		return !o.HasRole(r) && !hasDependencies(o.Dependencies, r) && !owners[r]
	})
	o.Databases, o.Owners = s.observedDatabases(a.Scopes)
	o.Normalize()
	return o
}

// observedDatabases is one ObservedDatabase per scope, sorted by name, as
// far as the shared catalog tells, and the facts of their owners.
func (s Snapshot) observedDatabases(scopes []Scope) ([]diff.ObservedDatabase, []diff.RoleFact) {
	var dbs []diff.ObservedDatabase
	var owners []diff.RoleFact
	for _, sc := range scopes {
		db := diff.ObservedDatabase{Name: sc.Database}
		i, ok := slices.BinarySearchFunc(s.databases, sc.Database, func(d sharedDatabase, name string) int {
			return strings.Compare(d.name, name)
		})
		if ok {
			d := s.databases[i]
			db.Exists, db.Owner, db.SelfConnect = true, d.owner.Name, d.connect
			db.ACL = aclOf(d.acl, sc.Grantees)
			var grantors []diff.RoleFact
			db.Delegated, grantors = delegatedOf(d, sc.Grantees)
			owners = append(append(owners, d.owner), grantors...)
		}
		dbs = append(dbs, db)
	}
	slices.SortFunc(dbs, func(x, y diff.ObservedDatabase) int { return strings.Compare(x.Name, y.Name) })
	return dbs, mergeFacts(nil, owners)
}

// ReadQueued reads what Queue queued, as Inspect does.
func ReadQueued(br pgx.BatchResults, a Asked) (diff.Observed, error) {
	s, err := readSnapshot(br)
	if err != nil {
		return diff.Observed{}, err
	}
	return s.Observed(a), nil
}

// readPrincipals reads principalsSQL. How many principals there are is
// known only at the end: the rows are gathered in chunks and joined once,
// rather than copied again and again into a slice that grows to 10,000.
func readPrincipals(br pgx.BatchResults) ([]diff.ObservedPrincipal, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var chunks [][]diff.ObservedPrincipal
	chunk := make([]diff.ObservedPrincipal, 0, 64)
	var (
		p          diff.ObservedPrincipal
		typ        interned
		mfa, admin pgtype.Int4
	)
	typ.dst, typ.table = &p.Type, internTable{}
	tenant := interned{dst: &p.TenantID, table: typ.table}
	dst := []any{&p.Name, &typ, &p.ObjectID, &tenant, &mfa, &admin}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		if typ.null || !mfa.Valid || !admin.Valid {
			return nil, fmt.Errorf("principal %s: pgaadauth_list_principals gave no principaltype, ismfa or isadmin", p.Name)
		}
		p.MFA, p.Admin = mfa.Int32 == 1, admin.Int32 == 1
		if len(chunk) == cap(chunk) {
			chunks = append(chunks, chunk)
			chunk = make([]diff.ObservedPrincipal, 0, min(2*cap(chunk), 4096))
		}
		chunk = append(chunk, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return slices.Concat(append(chunks, chunk)...), nil
}

// readOthers reads roleNamesSQL and returns the roles that are not among
// principals (sorted by name), sorted by name.
func readOthers(br pgx.BatchResults, principals []diff.ObservedPrincipal) ([]diff.ObservedRole, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	var others []diff.ObservedRole
	var name string
	_, err = pgx.ForEachRow(rows, []any{&name}, func() error {
		if _, entra := principalIndex(principals, name); !entra {
			others = append(others, diff.ObservedRole{Name: name})
		}
		return nil
	})
	slices.SortFunc(others, func(a, b diff.ObservedRole) int { return strings.Compare(a.Name, b.Name) })
	return others, err
}

// readMemberships reads membershipsSQL into the MemberOf of principals and
// others (both sorted by name).
func readMemberships(br pgx.BatchResults, principals []diff.ObservedPrincipal, others []diff.ObservedRole) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	var member string
	var roles []string
	_, err = pgx.ForEachRow(rows, []any{&member, &roles}, func() error {
		// Scan makes a new slice for each array: roles share none.
		if i, entra := principalIndex(principals, member); entra {
			principals[i].MemberOf = roles
		} else if i, ok := roleIndex(others, member); ok {
			others[i].MemberOf = roles
		}
		return nil
	})
	return err
}

// readComments reads roleCommentsSQL into the Comment of others (sorted by
// name).
func readComments(br pgx.BatchResults, others []diff.ObservedRole) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	var role, comment string
	_, err = pgx.ForEachRow(rows, []any{&role, &comment}, func() error {
		if i, ok := roleIndex(others, role); ok {
			others[i].Comment = comment
		}
		return nil
	})
	return err
}

// readDatabases reads databasesSQL, sorted by name, their ACLs too.
func readDatabases(br pgx.BatchResults) ([]sharedDatabase, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	var (
		dbs       []sharedDatabase
		name      string
		owner     diff.RoleFact
		connect   bool
		grantee   pgtype.Text
		privilege pgtype.Text
		grantable pgtype.Bool
		grantor   pgtype.Text
		gFacts    [3]pgtype.Bool
	)
	dst := []any{&name, &owner.Name, &owner.Super, &owner.Member, &owner.Usage, &connect, &grantee, &privilege, &grantable,
		&grantor, &gFacts[0], &gFacts[1], &gFacts[2]}
	index := map[string]int{} // no ORDER BY: a database's rows may come apart
	_, err = pgx.ForEachRow(rows, dst, func() error {
		i, seen := index[name]
		if !seen {
			i = len(dbs)
			index[name] = i
			dbs = append(dbs, sharedDatabase{name: name, owner: owner, connect: connect})
		}
		if !grantee.Valid {
			return nil
		}
		p := diff.Privilege{Grantee: grantee.String, Privilege: privilege.String, Grantable: grantable.Bool}
		dbs[i].acl = append(dbs[i].acl, p)
		if grantor.Valid {
			dbs[i].delegated = append(dbs[i].delegated, diff.Delegated{Kind: spec.KindDatabase, Grantor: grantor.String,
				Grantee: p.Grantee, Privilege: p.Privilege, Grantable: p.Grantable, Count: 1, Objects: []string{name}})
			dbs[i].grantors = append(dbs[i].grantors,
				diff.RoleFact{Name: grantor.String, Super: gFacts[0].Bool, Member: gFacts[1].Bool, Usage: gFacts[2].Bool})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(dbs, func(a, b sharedDatabase) int { return strings.Compare(a.name, b.name) })
	for i := range dbs {
		dbs[i].acl = normalizeACL(dbs[i].acl)
		slices.SortFunc(dbs[i].delegated, compareDelegated)
	}
	return dbs, nil
}

// delegatedOf are the entries of delegated whose grantee or grantor is
// among grantees (sorted), and the facts of their grantors.
func delegatedOf(d sharedDatabase, grantees []string) ([]diff.Delegated, []diff.RoleFact) {
	var out []diff.Delegated
	var facts []diff.RoleFact
	for _, e := range d.delegated {
		if slices.Contains(grantees, e.Grantee) || slices.Contains(grantees, e.Grantor) {
			out = append(out, e)
			i := slices.IndexFunc(d.grantors, func(f diff.RoleFact) bool { return f.Name == e.Grantor })
			facts = append(facts, d.grantors[i])
		}
	}
	return out, facts
}

func roleIndex(roles []diff.ObservedRole, name string) (int, bool) {
	return slices.BinarySearchFunc(roles, name, func(r diff.ObservedRole, n string) int {
		return strings.Compare(r.Name, n)
	})
}

func principalIndex(principals []diff.ObservedPrincipal, name string) (int, bool) {
	return slices.BinarySearchFunc(principals, name, func(p diff.ObservedPrincipal, n string) int {
		return strings.Compare(p.Name, n)
	})
}

// readOwnership reads ownershipSQL: the dependency counts, and whose
// objects roles hold privileges on.
func readOwnership(br pgx.BatchResults) ([]diff.Dependency, []diff.HeldFrom, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		deps     []diff.Dependency
		held     []diff.HeldFrom
		role     string
		database interned
		deptype  pgtype.Text
		count    pgtype.Int4
		owner    pgtype.Text
		super    pgtype.Bool
		name     string
	)
	database.dst, database.table = &name, internTable{}
	dst := []any{&role, &database, &deptype, &count, &owner, &super}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, nil, err
		}
		if owner.Valid {
			held = append(held, diff.HeldFrom{Principal: role, Database: name, Owner: owner.String, Super: super.Bool})
			continue
		}
		deps = append(deps, diff.Dependency{Principal: role, Database: name, Kind: diff.KindOf(deptype.String), Count: int(count.Int32)})
	}
	return deps, held, rows.Err()
}

// appendPrincipalsAmong appends to dst those of names (sorted) that are
// among principals (sorted by name): one walk through both.
func appendPrincipalsAmong(dst, names []string, principals []diff.ObservedPrincipal) []string {
	for i, j := 0, 0; i < len(names) && j < len(principals); {
		switch c := strings.Compare(names[i], principals[j].Name); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			dst = append(dst, principals[j].Name)
			i++
			j++
		}
	}
	return dst
}

// hasDependencies reports whether deps (sorted by principal) count
// anything of principal.
func hasDependencies(deps []diff.Dependency, principal string) bool {
	_, ok := slices.BinarySearchFunc(deps, principal, func(d diff.Dependency, p string) int {
		return strings.Compare(d.Principal, p)
	})
	return ok
}

// internTable holds one string for each value its interned columns have
// read: a server's principals mostly share a type and a tenant, so 10,000
// rows need a handful of strings rather than 20,000.
type internTable map[string]string

// interned scans a text column into *dst through its table; NULL sets null
// and leaves *dst "".
type interned struct {
	dst   *string
	table internTable
	null  bool
}

// ScanBytes makes interned a pgtype.BytesScanner: pgx hands it the
// column's bytes without copying them.
func (in *interned) ScanBytes(b []byte) error {
	in.null = b == nil
	s, ok := in.table[string(b)] // a look-up by string(b) does not allocate
	if !ok {
		s = string(b)
		in.table[s] = s
	}
	*in.dst = s
	return nil
}

// Inspect reads the server's Entra principals, their memberships, what they
// own or hold in every database (counted), which of names exist as roles,
// and the signed-in user, in one round trip.
func Inspect(ctx context.Context, conn Batcher, a Asked) (diff.Observed, error) {
	s, err := Read(ctx, conn)
	if err != nil {
		return diff.Observed{}, err
	}
	return s.Observed(a), nil
}

// Read is Inspect before the names are known: Snapshot.Observed narrows
// it.
func Read(ctx context.Context, conn Batcher) (Snapshot, error) {
	b := &pgx.Batch{}
	Queue(b)
	br := conn.SendBatch(ctx, b)
	s, err := readSnapshot(br)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return Snapshot{}, Explain(err)
	}
	return s, nil
}

// Explain turns the error of a server without pgaadauth (or of a
// database other than postgres) into advice.
func Explain(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42883" {
		return fmt.Errorf("inspect: pgaadauth_list_principals does not exist here: pgusers needs an Azure Database for PostgreSQL "+
			"flexible server with Microsoft Entra authentication enabled, and the database \"postgres\" "+
			"(the pgaadauth functions exist only there): %w", err)
	}
	return fmt.Errorf("inspect: %w", err)
}

// Databases are the names of the server's databases but the templates,
// sorted: those export makes a Scope of.
func (s Snapshot) Databases() []string {
	names := make([]string, 0, len(s.databases))
	for _, d := range s.databases {
		names = append(names, d.name)
	}
	return nilIfEmpty(names)
}
