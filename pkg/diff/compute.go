package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Compute returns the plan that makes the server described by observed match
// desired. It returns an *Error, and no plan, when that cannot be done
// safely: a declared name that is a role but not an Entra principal, a
// memberOf role that does not exist, a replace that would drop what must not
// be dropped, a drop that owns or holds something on a server without
// reassignOwnedTo, a reassignOwnedTo role that does not exist, or more drops
// than desired.MaxDrops allows.
func Compute(desired spec.Server, observed Observed) (Plan, error) {
	observed.Normalize()
	c := computation{desired: desired, observed: observed}
	c.renames()
	for _, p := range desired.Principals {
		c.principal(p)
	}
	c.roles()
	c.prune()
	c.checkReassignTarget()
	c.handOver()
	c.checkMemberOfRoles()
	c.checkCycles()
	c.privileges()
	c.handOverHere()
	c.checkDropBudget()
	if len(c.problems) > 0 {
		return Plan{}, &Error{Server: desired.Name, Problems: c.problems, Blocked: c.blocked}
	}
	plan := Plan{Server: desired.Name, Kept: c.kept, Cleanups: c.cleanups, Blockers: c.blockers, Lends: c.planLends(), Withheld: c.withheld}
	revokeObjectsFirst(c.byAction[RevokePrivileges])
	for _, a := range Actions {
		if plan.Changes == nil {
			// The first list is the plan's start, not a copy of it.
			plan.Changes = c.byAction[a]
		} else {
			plan.Changes = append(plan.Changes, c.byAction[a]...)
		}
	}
	return plan, nil
}

type computation struct {
	desired  spec.Server
	observed Observed
	// creating holds the principals the plan creates or recreates; it is
	// built when creates first asks.
	creating map[string]bool
	byAction map[Action][]Change
	kept     []Kept
	problems []Problem
	// blockers are what the plan hands over to reassignOwnedTo; blocked
	// what makes it fail without one.
	blockers, blocked []Blocker
	cleanups          []Cleanup
	// withheld are the changes of cells the plan leaves out, and why.
	withheld []Withheld
	// lends are the roles lent per transaction ("" the main one).
	lends map[string][]string
	// handOversHere are the drops whose hand-over runs in the main
	// transaction, built once its lends are known (handOverHere).
	handOversHere []handOverHere
	// checkedGrantees remembers which grantees were checked, and how.
	checkedGrantees map[string]bool
	// cells are the managed cells, sorted (compareCells).
	cells []CellPrivileges
	// selfConnect holds the databases where the grants give the signed-in
	// user CONNECT of its own.
	selfConnect map[string]bool
	// byObjectID indexes the observed principals by object id, built when
	// first asked.
	byObjectID map[string]int
	// renamedTo maps the old name of each role the plan renames to its
	// new one; observed already says the new one.
	renamedTo map[string]string
}

// planLends are the lends, sorted.
func (c *computation) planLends() []Lend {
	var out []Lend
	for in, roles := range c.lends {
		roles = slices.Clone(roles)
		slices.Sort(roles)
		out = append(out, Lend{In: in, Roles: roles})
	}
	slices.SortFunc(out, func(a, b Lend) int { return strings.Compare(a.In, b.In) })
	return out
}

func (c *computation) add(ch Change) {
	if c.byAction == nil {
		c.byAction = map[Action][]Change{}
	}
	list := c.byAction[ch.Action]
	if list == nil && ch.Action == Create {
		// At most one create per declared principal: sized once, a plan of
		// 10,000 creates is not copied over and over as it grows. Capacity
		// never written to costs no memory, as its pages are never touched.
		list = make([]Change, 0, len(c.desired.Principals))
	}
	c.byAction[ch.Action] = append(list, ch)
}

// problem records why the plan cannot be made, once. Names from the server or
// the files are quoted when they hold a character that could forge a line
// or rewrite a terminal (see SafeName).
func (c *computation) problem(principal, format string, args ...any) {
	p := Problem{Principal: principal, Msg: fmt.Sprintf(format, safeArgs(args)...)}
	if slices.Contains(c.problems, p) {
		// One cause found from several cells (a missing schema, from each
		// kind an entry names there) is said once.
		return
	}
	c.problems = append(c.problems, p)
}

// withhold records a change cell needs that the plan leaves out, and why,
// once; names are quoted as problem quotes them.
func (c *computation) withhold(cell Cell, format string, args ...any) {
	w := Withheld{Cell: cell, Why: fmt.Sprintf(format, safeArgs(args)...)}
	if !slices.Contains(c.withheld, w) {
		c.withheld = append(c.withheld, w)
	}
}

// safeArgs quotes the string arguments of a message (see SafeName), in
// place.
func safeArgs(args []any) []any {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = SafeName(s)
		}
	}
	return args
}

// principal plans one declared principal. Desired principals arrive sorted
// by name, so changes of one action come out sorted too.
func (c *computation) principal(p spec.Principal) {
	obs, isEntra := c.observed.Principal(p.Name)
	if !isEntra && p.ObjectID != "" {
		if holder, ok := c.principalByObjectID(p.ObjectID); ok {
			if p.RenamedFrom != holder.Name {
				c.problem(p.Name, "objectId %s is held on the server by principal %s: one Entra object backs one role. If %s was renamed "+
					"in Entra (its UPN changed), add renamedFrom: %s to rename the role and keep its memberships and grants; otherwise "+
					"fix the objectId%s", p.ObjectID, holder.Name, holder.Name, holder.Name, where(p.Pos))
			}
			// Else renames planned the rename, or said why it cannot.
			return
		}
	}
	switch {
	case !isEntra && c.observed.HasRole(p.Name):
		c.problem(p.Name, "a role of this name exists but is not an Entra principal (pgaadauth_list_principals does not list it); "+
			"pgusers does not take over other roles: drop or rename that role by hand, or remove the principal from the file%s", where(p.Pos))
	case !isEntra:
		c.add(Change{
			Action: Create, Principal: p.Name, Type: string(p.Type), ObjectID: p.ObjectID, Admin: p.Admin, MFA: p.MFA,
			Reason:     "declared, not on the server",
			Statements: []Statement{createStatement(p)},
		})
		c.grantAll(p)
	default:
		if why := differences(p, obs); why != "" {
			c.replace(p, obs, why)
			return
		}
		c.memberships(p, obs.MemberOf)
	}
}

// principalByObjectID returns the observed principal whose object id is
// oid (declared object ids are lower case).
func (c *computation) principalByObjectID(oid string) (ObservedPrincipal, bool) {
	if c.byObjectID == nil {
		c.byObjectID = make(map[string]int, len(c.observed.Principals))
		for i, o := range c.observed.Principals {
			if o.ObjectID != "" {
				c.byObjectID[strings.ToLower(o.ObjectID)] = i
			}
		}
	}
	i, ok := c.byObjectID[oid]
	if !ok {
		return ObservedPrincipal{}, false
	}
	return c.observed.Principals[i], true
}

// renamed plans the rename of holder, the role of p's object id, to p's
// name (renamedFrom: a UPN changed in Entra; the role keeps its
// memberships, grants and objects), and reports whether it did; else it
// says why it cannot. The rest of p is planned as for any principal on the
// server, once renames made the observed state carry the new name.
func (c *computation) renamed(p spec.Principal, holder ObservedPrincipal) bool {
	switch {
	case holder.Name == c.observed.SessionUser:
		c.problem(p.Name, "renamedFrom names %s, the signed-in user, whose role PostgreSQL cannot rename while signed in%s", holder.Name, where(p.Pos))
		return false
	case c.declared(holder.Name):
		c.problem(p.Name, "renamedFrom names %s, which the files also declare: a role has one name%s", holder.Name, where(p.Pos))
		return false
	case c.observed.HasRole(p.Name):
		c.problem(p.Name, "renamedFrom %s: a role named %s already exists and is not an Entra principal, so PostgreSQL cannot "+
			"rename %s to it; drop or rename that role by hand first%s", holder.Name, p.Name, holder.Name, where(p.Pos))
		return false
	}
	if why := differences(p, holder); why != "" {
		c.problem(p.Name, "renamedFrom %s: it also differs from the declaration (%s); rename it first as it is, then change it%s",
			holder.Name, why, where(p.Pos))
		return false
	}
	c.add(Change{
		Action: Rename, Principal: p.Name, From: holder.Name, Type: string(p.Type), ObjectID: p.ObjectID, Admin: p.Admin, MFA: p.MFA,
		Reason:     "renamedFrom: its name changed in Entra; the role keeps its object id, memberships, grants and objects",
		Statements: []Statement{renameStatement(holder.Name, p.Name)},
	})
	return true
}

// declared reports whether the files declare a principal called name.
func (c *computation) declared(name string) bool {
	_, ok := slices.BinarySearchFunc(c.desired.Principals, name, func(p spec.Principal, n string) int { return strings.Compare(p.Name, n) })
	return ok
}

// differences names what of the declared principal's identity differs from
// the server's, or returns "".
func differences(p spec.Principal, obs ObservedPrincipal) string {
	var d []string
	if string(p.Type) != obs.Type {
		d = append(d, fmt.Sprintf("type %s on the server, %s declared", obs.Type, p.Type))
	}
	// Without a declared object id the server resolved the name itself:
	// whatever it found is what the file asked for.
	if p.ObjectID != "" && !strings.EqualFold(p.ObjectID, obs.ObjectID) {
		d = append(d, fmt.Sprintf("objectId %s on the server, %s declared", obs.ObjectID, p.ObjectID))
	}
	if p.Admin != obs.Admin {
		d = append(d, fmt.Sprintf("admin %t on the server, %t declared", obs.Admin, p.Admin))
	}
	if p.MFA != obs.MFA {
		d = append(d, fmt.Sprintf("mfa %t on the server, %t declared", obs.MFA, p.MFA))
	}
	return strings.Join(d, "; ")
}

func (c *computation) replace(p spec.Principal, obs ObservedPrincipal, why string) {
	if reason := c.undroppable(obs); reason != "" {
		c.problem(p.Name, "differs from the server (%s), and a replace would drop it, but it is %s; "+
			"fix the file to match the server, or change the principal in Azure%s", why, reason, where(p.Pos))
		return
	}
	if !c.desired.Prune {
		c.problem(p.Name, "differs from the server (%s); pgaadauth cannot change it in place, so it must be dropped and created again, "+
			"losing its grants: set prune: true on server %s to allow replaces, or fix the file to match the server%s",
			why, c.desired.Name, where(p.Pos))
		return
	}
	reason := why + "; forces replacement"
	if !p.ManageMemberships && len(nonAdmin(obs.MemberOf)) > 0 {
		reason += fmt.Sprintf("; its memberships (%s) are lost: memberOf is not declared", strings.Join(nonAdmin(obs.MemberOf), ", "))
	}
	c.add(Change{
		Action: Replace, Principal: p.Name, Type: string(p.Type), ObjectID: p.ObjectID, Admin: p.Admin, MFA: p.MFA,
		Reason:     reason,
		Statements: []Statement{dropStatement(p.Name), createStatement(p)},
	})
	c.grantAll(p)
}

// grantAll grants every declared membership of a principal the plan
// (re)creates.
func (c *computation) grantAll(p spec.Principal) {
	if !p.ManageMemberships {
		return
	}
	for _, r := range p.MemberOf {
		c.add(Change{
			Action: Grant, Principal: p.Name, Role: r,
			Reason:     "declared in memberOf",
			Statements: []Statement{grantStatement(r, p.Name)},
		})
	}
}

// memberships brings an existing principal's memberships to exactly
// memberOf. azure_pg_admin is left to the admin flag.
func (c *computation) memberships(p spec.Principal, have []string) {
	if !p.ManageMemberships {
		return
	}
	for _, r := range p.MemberOf {
		if !slices.Contains(have, r) {
			c.add(Change{
				Action: Grant, Principal: p.Name, Role: r,
				Reason:     "declared in memberOf, not a member on the server",
				Statements: []Statement{grantStatement(r, p.Name)},
			})
		}
	}
	for _, r := range nonAdmin(have) {
		if !slices.Contains(p.MemberOf, r) {
			c.add(Change{
				Action: Revoke, Principal: p.Name, Role: r,
				Reason:     "a member on the server, not in memberOf",
				Statements: []Statement{revokeStatement(r, p.Name)},
			})
		}
	}
}

// prune plans the drops: Entra principals no file declares, on a server
// where prune is on, minus every principal pgusers must never drop.
func (c *computation) prune() {
	if !c.desired.Prune {
		return
	}
	declared := make(map[string]bool, len(c.desired.Principals))
	for _, p := range c.desired.Principals {
		declared[p.Name] = true
	}
	for _, obs := range c.observed.Principals {
		if declared[obs.Name] {
			continue
		}
		if reason := c.undroppable(obs); reason != "" {
			c.kept = append(c.kept, Kept{Principal: obs.Name, Why: reason})
			continue
		}
		if c.observed.GroupSync && obs.Type == string(spec.User) && !c.desired.PruneSyncedUsers {
			c.kept = append(c.kept, Kept{Principal: obs.Name, Why: "a user on a server with group sync on " +
				"(pgaadauth.enable_group_sync): the server makes roles for the members of synced groups itself, " +
				"and would make this one again; set pruneSyncedUsers: true to prune undeclared users anyway"})
			continue
		}
		c.add(Change{
			Action: Drop, Principal: obs.Name, Type: obs.Type, ObjectID: obs.ObjectID, Admin: obs.Admin, MFA: obs.MFA,
			Reason:     "on the server, not declared; prune is on",
			Statements: []Statement{dropStatement(obs.Name)},
		})
	}
}

// undroppable says why a principal must never be dropped, or returns "".
func (c *computation) undroppable(obs ObservedPrincipal) string {
	switch {
	case obs.Name == c.observed.SessionUser:
		return "the signed-in user"
	case obs.Admin:
		return "an Entra administrator (isadmin = 1), which Azure manages"
	case spec.Reserved(obs.Name):
		return "a reserved role"
	}
	if p := protectedBy(c.desired.Protect, obs.Name); p != "" {
		return fmt.Sprintf("protected by %q", p)
	}
	return ""
}

// checkMemberOfRoles refuses grants of roles that will not exist: a grant
// would fail mid-apply and roll the whole server back.
func (c *computation) checkMemberOfRoles() {
	missing := map[string][]string{}
	for _, ch := range c.byAction[Grant] {
		if c.dropping(ch.Role) {
			c.problem(ch.Principal, "memberOf names %q, which this plan drops (an Entra principal no file declares, with prune on, "+
				"or a role declared absent): declare it, or remove it from memberOf", ch.Role)
			continue
		}
		if !c.observed.HasRole(ch.Role) && !c.creates(ch.Role) {
			missing[ch.Role] = append(missing[ch.Role], ch.Principal)
		}
	}
	roles := make([]string, 0, len(missing))
	for r := range missing {
		roles = append(roles, r)
	}
	slices.Sort(roles)
	for _, r := range roles {
		for _, p := range missing[r] {
			c.problem(p, "memberOf names role %q, which does not exist on the server: create it first "+
				"(pgusers manages Entra principals, not other roles), or remove it from memberOf", r)
		}
	}
}

// checkReassignTarget refuses a reassignOwnedTo that names no role, or a
// principal the plan drops: what the drops own would have nowhere to go.
func (c *computation) checkReassignTarget() {
	to := c.desired.ReassignOwnedTo
	if to == "" {
		return
	}
	if !c.observed.HasRole(to) {
		c.problem("", "reassignOwnedTo names role %q, which does not exist on the server: create it first, "+
			"or name a role that exists on server %s", to, c.desired.Name)
		return
	}
	if c.dropping(to) {
		c.problem("", "reassignOwnedTo names %q, which this plan drops: declare it, or name a role that stays", to)
	}
	for _, ch := range c.byAction[Replace] {
		if ch.Principal == to {
			c.problem("", "reassignOwnedTo names %q, which this plan replaces (drops and creates again): "+
				"name a role that stays", to)
		}
	}
}

// handOver plans what becomes of the objects and privileges of principals
// the plan drops or replaces. Without reassignOwnedTo each such principal is
// a problem that names what it holds, instead of a DROP ROLE failing
// mid-apply. With it, the change itself first runs REASSIGN OWNED and DROP
// OWNED in the connection's database (which also covers objects of the whole
// cluster), and a Cleanup does the same in each other database.
func (c *computation) handOver() {
	to, me := c.desired.ReassignOwnedTo, c.observed.SessionUser
	others := map[string][]string{}
	for _, a := range []Action{Replace, DropRole, Drop} {
		for i := range c.byAction[a] {
			ch := &c.byAction[a][i]
			name := ch.Principal
			if a == DropRole {
				name = ch.Role
			}
			deps := c.observed.DependenciesOf(name)
			if len(deps) == 0 {
				continue
			}
			if to == "" {
				what := "dropping it"
				if a == Replace {
					what = "the replace drops it, which"
				}
				c.blocked = append(c.blocked, Blockers(deps)...)
				c.problem(name, "%s would fail: it %s; set reassignOwnedTo on server %s to the role that should "+
					"receive what it owns (apply then runs REASSIGN OWNED and DROP OWNED in each of these databases "+
					"before the drop), or move those objects and privileges away by hand",
					what, describeDependencies(deps), c.desired.Name)
				continue
			}
			c.blockers = append(c.blockers, Blockers(deps)...)
			for _, h := range c.observed.HeldFrom {
				if h.Principal == name && h.Super {
					c.problem(name, "it holds privileges on objects of %s in database %s, a superuser, which the signed-in "+
						"administrator cannot act as to revoke them: revoke them as %s by hand first", h.Owner, h.Database, h.Owner)
				}
			}
			here := false
			for _, d := range deps {
				if d.Database == "" || d.Database == c.observed.Database {
					here = true
				} else if !slices.Contains(others[d.Database], name) {
					others[d.Database] = append(others[d.Database], name)
				}
			}
			if here {
				c.handOversHere = append(c.handOversHere, handOverHere{action: a, index: i, principal: name})
			}
			ch.Reason += fmt.Sprintf("; what it owns and holds goes to %s (REASSIGN OWNED, DROP OWNED)", to)
		}
	}
	dbs := make([]string, 0, len(others))
	for db := range others {
		dbs = append(dbs, db)
	}
	slices.Sort(dbs)
	for _, db := range dbs {
		ps := others[db]
		slices.Sort(ps)
		// The hand-overs run before the renames: they name roles as the
		// server has them then.
		owners := c.heldFrom(ps, db)
		for i, o := range owners {
			owners[i] = c.former(o)
		}
		c.cleanups = append(c.cleanups, Cleanup{Database: db, Principals: ps,
			Statements: handOverStatements(ps, c.former(to), me, c.hasSessionRoleBefore, owners...)})
	}
	slices.SortFunc(c.blockers, compareBlockers)
	slices.SortFunc(c.blocked, compareBlockers)
}

func (c *computation) checkDropBudget() {
	n := len(c.byAction[Drop]) + len(c.byAction[Replace])
	if n > c.desired.MaxDrops {
		c.problem("", "the plan would drop or replace %d principals, more than maxDrops allows (%d); "+
			"a broken include or an emptied list looks like this: check the files, and if the drops are meant, "+
			"raise maxDrops for server %s or pass --max-drops %d", n, c.desired.MaxDrops, c.desired.Name, n)
	}
}

func nonAdmin(roles []string) []string {
	return slices.DeleteFunc(slices.Clone(roles), func(r string) bool { return r == spec.AdminRole })
}

// where renders a declaration's position for a message, or nothing.
func where(p spec.Position) string {
	if s := p.String(); s != "" {
		return " (declared at " + s + ")"
	}
	return ""
}

// heldFrom are the owners, not superusers, of the objects in databases dbs
// ("" for objects of the whole cluster) on which principals hold
// privileges, sorted: the roles a hand-over must act as.
func (c *computation) heldFrom(principals []string, dbs ...string) []string {
	var out []string
	for _, h := range c.observed.HeldFrom {
		if !h.Super && slices.Contains(principals, h.Principal) && slices.Contains(dbs, h.Database) && !slices.Contains(out, h.Owner) {
			out = append(out, h.Owner)
		}
	}
	slices.Sort(out)
	return out
}

// handOverHere is a drop (or replace) whose hand-over runs in the main
// transaction: the change at index of byAction[action].
type handOverHere struct {
	action    Action
	index     int
	principal string
}

// handOverHere puts the main transaction's hand-overs in front of their
// drops. A hand-over lends the roles it needs and takes them back at its
// end, so the roles the main transaction has lent for all of it already
// (Plan.Lends: the owners its grants act as) count as held: taking one of
// those back would leave the grants after the drop without it, and a
// GRANT that no role of the signed-in user may give only warns ("no
// privileges were granted") and grants nothing.
func (c *computation) handOverHere() {
	me := c.observed.SessionUser
	has := func(r string) bool { return c.observed.HasSessionRole(r) || slices.Contains(c.lends[""], r) }
	for _, h := range c.handOversHere {
		ch := &c.byAction[h.action][h.index]
		owners := c.heldFrom([]string{h.principal}, c.observed.Database, "")
		ch.Statements = append(handOverStatements([]string{h.principal}, c.desired.ReassignOwnedTo, me, has, owners...), ch.Statements...)
	}
}

// revokeObjectsFirst orders the revokes of each database's transaction
// objects first, then schemas, then the database, keeping the cells' order
// otherwise: a revoke as a grantor names the objects in the schema as that
// role, which needs its USAGE there, and a revoke of that USAGE in the
// same transaction must come after it.
func revokeObjectsFirst(revokes []Change) {
	level := func(k spec.Kind) int {
		switch k {
		case spec.KindDatabase:
			return 2
		case spec.KindSchema:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(revokes, func(a, b Change) int {
		return cmp.Or(strings.Compare(a.Database, b.Database), level(a.On)-level(b.On))
	})
}
