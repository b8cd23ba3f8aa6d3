package access

import (
	"fmt"
	"strings"

	"github.com/pgusers/pgusers/pkg/directory"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Directory is what Microsoft Graph says of a server's Entra principals.
type Directory struct {
	// Objects are the principals' objects that exist, by lower-case
	// object id: an id absent is gone (deleted from Entra).
	Objects map[string]directory.Object
	// Members are, with --expand-groups, each group principal's transitive
	// members, by the group's lower-case object id.
	Members map[string][]directory.Object
}

// Directory checks and statuses.
const (
	CheckGone     = "directory_gone"     // the principal's Entra object no longer exists
	CheckDisabled = "directory_disabled" // it exists and cannot sign in
	CheckRenamed  = "directory_renamed"  // its name in Entra is not its role's
	CheckGuests   = "guest_members"      // a group principal has guests among its members

	// SourceEntra is the source of a membership of an Entra group: Entra
	// holds it, not PostgreSQL.
	SourceEntra = "Entra"

	// EntraMember is the status of a member of an Entra group principal,
	// listed with --expand-groups: it is no role, and holds what the
	// group's role holds.
	EntraMember = "entra-member"
)

// directoryFindings are the findings of what Graph says of the Entra
// principals.
func (r *reviewer) directoryFindings() []Finding {
	dir := r.srv.Directory
	if dir == nil {
		return nil
	}
	var out []Finding
	for _, p := range r.srv.Principals {
		if p.ObjectID == "" || !r.reviewed(p.Name) {
			continue
		}
		o, ok := dir.Objects[strings.ToLower(p.ObjectID)]
		switch {
		case !ok:
			out = append(out, Finding{Check: CheckGone, Grantee: p.Name, Message: fmt.Sprintf("%s: its Entra object %s no longer exists "+
				"(deleted, or another tenant's), yet its role remains with what it holds and owns; drop it (remove it from the files, with prune) "+
				"or hand its objects over", p.Name, p.ObjectID)})
			continue
		case !o.Enabled:
			out = append(out, Finding{Check: CheckDisabled, Grantee: p.Name, Message: fmt.Sprintf("%s is disabled in Entra "+
				"(accountEnabled false): it cannot sign in, and its role keeps what it holds", p.Name)})
		}
		if name := o.Name(); name != "" && !strings.EqualFold(name, p.Name) {
			out = append(out, Finding{Check: CheckRenamed, Grantee: p.Name, Message: fmt.Sprintf("%s is named %s in Entra: "+
				"declare it as %s with renamedFrom: %s to rename the role and keep what it holds", p.Name, name, name, p.Name)})
		}
		guests := 0
		for _, m := range dir.Members[strings.ToLower(p.ObjectID)] {
			if m.Guest {
				guests++
			}
		}
		if guests > 0 {
			out = append(out, Finding{Check: CheckGuests, Grantee: p.Name, Message: fmt.Sprintf("group %s has %d guest member(s) "+
				"(users of other tenants) who hold what it holds", p.Name, guests)})
		}
	}
	return out
}

// reviewed reports whether role is a grantee of the review.
func (r *reviewer) reviewed(role string) bool { return r.granted[role] }

// expandGroups adds, for each member of each group principal reviewed, the
// rows of the group, with the source "member of GROUP > ...", and the
// member to principals.
func (r *reviewer) expandGroups(principals []Principal) []Principal {
	dir := r.srv.Directory
	if dir == nil || dir.Members == nil {
		return principals
	}
	byGrantee := map[string][]Row{}
	for _, row := range r.rows {
		if row.Kind != KindAttribute {
			byGrantee[row.Grantee] = append(byGrantee[row.Grantee], row)
		}
	}
	listed := map[string]bool{}
	for _, p := range principals {
		listed[p.Name] = true
	}
	for _, p := range r.srv.Principals {
		if p.Type != string(spec.Group) || !r.reviewed(p.Name) {
			continue
		}
		for _, m := range dir.Members[strings.ToLower(p.ObjectID)] {
			if m.Type == "group" {
				continue // its members are among the group's
			}
			name, typ := m.Name(), string(spec.User)
			if m.Type == "servicePrincipal" {
				typ = string(spec.Service)
			}
			if name == "" {
				name = m.ID // a member the identity may not read: only its id
			}
			if !listed[name] {
				listed[name] = true
				principals = append(principals, Principal{Name: name, Type: typ, ObjectID: m.ID, Status: EntraMember})
			}
			for _, row := range byGrantee[p.Name] {
				row.Grantee, row.GranteeType = name, typ
				row.Source = viaGroup(p.Name, row.Source)
				if row.Kind == KindMembership {
					row.GrantOption = false
				}
				r.rows = append(r.rows, row)
			}
			r.rows = append(r.rows, Row{Grantee: name, GranteeType: typ, Kind: KindMembership, Object: p.Name,
				Privilege: PrivilegeMember, Source: SourceEntra})
		}
	}
	return principals
}

// viaGroup is the source of what a member of an Entra group holds through
// it.
func viaGroup(group, source string) string {
	switch {
	case source == SourceDirect || source == SourceOwner:
		return "member of " + group
	case strings.HasPrefix(source, "member of "):
		return "member of " + group + " > " + strings.TrimPrefix(source, "member of ")
	case strings.HasPrefix(source, "predefined "):
		return "member of " + group + " > " + strings.TrimPrefix(source, "predefined ")
	}
	return "member of " + group
}
