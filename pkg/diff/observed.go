package diff

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ObservedPrincipal is one row of pgaadauth_list_principals(false) with the
// role's direct memberships.
type ObservedPrincipal struct {
	Name     string `json:"name"`
	Type     string `json:"type"` // as the server spells it: user, group or service
	ObjectID string `json:"objectId"`
	TenantID string `json:"tenantId"`
	MFA      bool   `json:"mfa"`
	Admin    bool   `json:"admin"`
	// MemberOf is every role this principal is a direct member of, sorted,
	// azure_pg_admin included (the admin flag owns that one).
	MemberOf []string `json:"memberOf"`
}

// Observed is what a server has, as far as one desired server entry needs.
type Observed struct {
	// Principals are every Entra principal on the server, sorted by name.
	Principals []ObservedPrincipal `json:"principals"`
	// Roles are those of the names asked about (declared principals, their
	// memberOf roles, reassignOwnedTo) that exist as roles at all, sorted.
	Roles []string `json:"roles"`
	// SessionUser is the role pgusers signed in as; it is never dropped.
	SessionUser string `json:"sessionUser"`
	// Database is the database pgusers is connected to.
	Database string `json:"database"`
	// Dependencies count what each Entra principal owns or holds, per
	// database and kind, sorted: what would make its DROP ROLE fail.
	Dependencies []Dependency `json:"dependencies"`
	// HeldFrom says whose objects the principals (and the roles asked
	// about) hold privileges on, per database, sorted.
	HeldFrom []HeldFrom `json:"heldFrom,omitempty"`
	// SessionRoles are the roles whose privileges the signed-in user has,
	// among the names asked about and the principals with dependencies,
	// sorted. REASSIGN OWNED needs the privileges of both roles.
	SessionRoles []string `json:"sessionRoles"`
	// ServerVersion is server_version_num (150004 for 15.4).
	ServerVersion int `json:"serverVersion,omitempty"`
	// GroupSync is the server parameter pgaadauth.enable_group_sync: the
	// server creates roles for the members of Entra groups on its own.
	GroupSync bool `json:"groupSync,omitempty"`
	// GroupRoles are the roles among the names asked about that exist and
	// are not Entra principals, sorted by name, with their comments and
	// memberships.
	GroupRoles []ObservedRole `json:"groupRoles,omitempty"`
	// Owners are what the plan must know of the roles that own what it
	// changes privileges on, and of the owners named by defaultsFor, sorted
	// by name; an owner named by defaultsFor that is not here does not
	// exist.
	Owners []RoleFact `json:"owners,omitempty"`
	// Databases are the databases the grants name, sorted by name.
	Databases []ObservedDatabase `json:"databases,omitempty"`
}

// Principal returns the observed principal called name.
func (o Observed) Principal(name string) (ObservedPrincipal, bool) {
	i, ok := slices.BinarySearchFunc(o.Principals, name, func(p ObservedPrincipal, n string) int {
		return strings.Compare(p.Name, n)
	})
	if !ok {
		return ObservedPrincipal{}, false
	}
	return o.Principals[i], true
}

// HasRole reports whether name was asked about and exists as a role.
func (o Observed) HasRole(name string) bool {
	_, ok := slices.BinarySearch(o.Roles, name)
	return ok
}

// Normalize sorts every list so that lookups and fingerprints do not depend
// on the order a server returned rows in, and makes every empty list nil so
// that they do not depend on how a state was decoded either.
func (o *Observed) Normalize() {
	slices.SortFunc(o.Principals, func(a, b ObservedPrincipal) int { return strings.Compare(a.Name, b.Name) })
	for i := range o.Principals {
		slices.Sort(o.Principals[i].MemberOf)
		o.Principals[i].MemberOf = nilIfEmpty(o.Principals[i].MemberOf)
	}
	defer func() {
		o.Principals = nilIfEmpty(o.Principals)
		o.Roles = nilIfEmpty(o.Roles)
		o.Dependencies = nilIfEmpty(o.Dependencies)
		o.SessionRoles = nilIfEmpty(o.SessionRoles)
		o.HeldFrom = nilIfEmpty(o.HeldFrom)
	}()
	slices.Sort(o.Roles)
	o.Roles = slices.Compact(o.Roles)
	slices.SortFunc(o.Dependencies, compareDependencies)
	slices.Sort(o.SessionRoles)
	o.SessionRoles = slices.Compact(o.SessionRoles)
	slices.SortFunc(o.HeldFrom, func(a, b HeldFrom) int {
		return cmp.Or(strings.Compare(a.Principal, b.Principal), strings.Compare(a.Database, b.Database), strings.Compare(a.Owner, b.Owner))
	})
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func compareDependencies(a, b Dependency) int {
	if c := strings.Compare(a.Principal, b.Principal); c != 0 {
		return c
	}
	if c := strings.Compare(a.Database, b.Database); c != 0 {
		return c
	}
	return strings.Compare(string(a.Kind), string(b.Kind))
}

// HasSessionRole reports whether the signed-in user has the privileges of
// role (as far as it was asked).
func (o Observed) HasSessionRole(role string) bool {
	_, ok := slices.BinarySearch(o.SessionRoles, role)
	return ok
}

// Fingerprint is a digest of the principals, memberships, roles and
// dependencies the plan was computed from. Apply compares the fingerprint of
// the plan's Basis with that of a fresh read under the lock: any difference
// means the plan is stale.
func (o Observed) Fingerprint() string {
	n := o
	n.Principals = slices.Clone(o.Principals)
	for i := range n.Principals {
		n.Principals[i].MemberOf = slices.Clone(n.Principals[i].MemberOf)
	}
	n.Roles = slices.Clone(o.Roles)
	n.Dependencies = slices.Clone(o.Dependencies)
	n.SessionRoles = slices.Clone(o.SessionRoles)
	n.Normalize()
	return fingerprintOf(n)
}

// fingerprintOf is a sha256 of v's JSON: v holds strings, numbers, bools
// and slices of them, never a map, so the bytes are canonical.
func fingerprintOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("diff: fingerprint: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Changes describes, one line a principal, how after differs from before:
// what a user needs to read when a plan went stale.
func Changes(before, after Observed) []string {
	before.Normalize()
	after.Normalize()
	var out []string
	for _, a := range after.Principals {
		b, ok := before.Principal(a.Name)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: created since the plan", SafeName(a.Name)))
		case !principalEqual(a, b):
			out = append(out, fmt.Sprintf("%s: changed since the plan (%s)", SafeName(a.Name), describeDifference(b, a)))
		}
	}
	for _, b := range before.Principals {
		if _, ok := after.Principal(b.Name); !ok {
			out = append(out, fmt.Sprintf("%s: dropped since the plan", SafeName(b.Name)))
		}
	}
	for _, r := range after.Roles {
		if !before.HasRole(r) {
			out = append(out, fmt.Sprintf("role %s: created since the plan", SafeName(r)))
		}
	}
	for _, r := range before.Roles {
		if !after.HasRole(r) {
			out = append(out, fmt.Sprintf("role %s: dropped since the plan", SafeName(r)))
		}
	}
	if before.SessionUser != after.SessionUser {
		out = append(out, fmt.Sprintf("signed in as %s, the plan was made as %s", after.SessionUser, before.SessionUser))
	}
	if before.Database != after.Database {
		out = append(out, fmt.Sprintf("connected to database %s, the plan was made in %s", after.Database, before.Database))
	}
	out = append(out, dependencyChanges(before.Dependencies, after.Dependencies)...)
	for _, r := range after.SessionRoles {
		if !before.HasSessionRole(r) {
			out = append(out, fmt.Sprintf("role %s: the signed-in user has its privileges since the plan", SafeName(r)))
		}
	}
	for _, r := range before.SessionRoles {
		if !after.HasSessionRole(r) {
			out = append(out, fmt.Sprintf("role %s: the signed-in user lost its privileges since the plan", SafeName(r)))
		}
	}
	if fingerprintOf(before.HeldFrom) != fingerprintOf(after.HeldFrom) {
		out = append(out, "the owners of objects that dropped roles hold privileges on changed since the plan")
	}
	if fingerprintOf(before.GroupRoles) != fingerprintOf(after.GroupRoles) {
		out = append(out, "group roles, their comments or their memberships changed since the plan")
	}
	for _, a := range after.Databases {
		b, ok := before.DatabaseNamed(a.Name)
		if !ok || a.Exists != b.Exists || a.Owner != b.Owner || fingerprintOf(a.ACL) != fingerprintOf(b.ACL) {
			out = append(out, fmt.Sprintf("database %s: its owner or privileges changed since the plan", a.Name))
		}
	}
	if before.ServerVersion != after.ServerVersion {
		out = append(out, fmt.Sprintf("the server's version changed since the plan (%d → %d)", before.ServerVersion, after.ServerVersion))
	}
	if before.GroupSync != after.GroupSync {
		out = append(out, fmt.Sprintf("the server parameter pgaadauth.enable_group_sync changed since the plan (%s → %s)",
			onOff(before.GroupSync), onOff(after.GroupSync)))
	}
	if len(out) == 0 && before.Fingerprint() != after.Fingerprint() {
		// Every difference the fingerprint sees should be named above; a
		// stale plan must never be refused with an empty reason.
		out = append(out, "the server's roles or settings changed since the plan")
	}
	slices.Sort(out)
	return out
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func principalEqual(a, b ObservedPrincipal) bool {
	return a.Name == b.Name && a.Type == b.Type && a.ObjectID == b.ObjectID && a.TenantID == b.TenantID &&
		a.MFA == b.MFA && a.Admin == b.Admin && slices.Equal(a.MemberOf, b.MemberOf)
}

func describeDifference(before, after ObservedPrincipal) string {
	var parts []string
	if before.Type != after.Type {
		parts = append(parts, fmt.Sprintf("type %s → %s", before.Type, after.Type))
	}
	if before.ObjectID != after.ObjectID || before.TenantID != after.TenantID {
		parts = append(parts, fmt.Sprintf("objectId %s → %s", before.ObjectID, after.ObjectID))
	}
	if before.Admin != after.Admin {
		parts = append(parts, fmt.Sprintf("admin %t → %t", before.Admin, after.Admin))
	}
	if before.MFA != after.MFA {
		parts = append(parts, fmt.Sprintf("mfa %t → %t", before.MFA, after.MFA))
	}
	if !slices.Equal(before.MemberOf, after.MemberOf) {
		parts = append(parts, fmt.Sprintf("memberships [%s] → [%s]", strings.Join(before.MemberOf, ", "), strings.Join(after.MemberOf, ", ")))
	}
	return strings.Join(parts, "; ")
}

// dependencyChanges says, per principal, database and kind, how the counts
// of two sorted lists differ.
func dependencyChanges(before, after []Dependency) []string {
	key := func(d Dependency) Dependency { d.Count = 0; return d }
	counts := map[Dependency][2]int{}
	var keys []Dependency
	for i, list := range [][]Dependency{before, after} {
		for _, d := range list {
			k := key(d)
			c, seen := counts[k]
			if !seen {
				keys = append(keys, k)
			}
			c[i] = d.Count
			counts[k] = c
		}
	}
	slices.SortFunc(keys, compareDependencies)
	var out []string
	for _, k := range keys {
		c := counts[k]
		if c[0] == c[1] {
			continue
		}
		where := fmt.Sprintf("in database %s", k.Database)
		if k.Database == "" {
			where = "of the whole cluster"
		}
		out = append(out, fmt.Sprintf("%s: %s %s, %d when planned", k.Principal, countKind(k.Kind, c[1]), where, c[0]))
	}
	return out
}
