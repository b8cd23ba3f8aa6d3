package inspect

import (
	"cmp"
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/diff"
)

func comparePrivileges(a, b diff.Privilege) int {
	return cmp.Or(strings.Compare(a.Grantee, b.Grantee), strings.Compare(a.Privilege, b.Privilege))
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// normalizeACL sorts acl by grantee and privilege, and makes one entry of
// a grantee's privilege that several grantors gave (WITH GRANT OPTION if
// any did); nil when empty.
func normalizeACL(acl []diff.Privilege) []diff.Privilege {
	slices.SortFunc(acl, comparePrivileges)
	out := acl[:0]
	for _, p := range acl {
		if n := len(out); n > 0 && comparePrivileges(out[n-1], p) == 0 {
			out[n-1].Grantable = out[n-1].Grantable || p.Grantable
			continue
		}
		out = append(out, p)
	}
	return nilIfEmpty(out)
}

// aclOf is the entries of acl (normalized) whose grantee is among
// grantees (sorted), in a new list.
func aclOf(acl []diff.Privilege, grantees []string) []diff.Privilege {
	var out []diff.Privilege
	for _, p := range acl {
		if slices.Contains(grantees, p.Grantee) {
			out = append(out, p)
		}
	}
	return out
}

// mergeFacts adds facts to into (sorted by name, without duplicates) and
// returns it sorted by name, one fact a role (the first one seen), nil
// when empty.
func mergeFacts(into, facts []diff.RoleFact) []diff.RoleFact {
	all := append(slices.Clip(into), facts...)
	slices.SortStableFunc(all, func(a, b diff.RoleFact) int { return strings.Compare(a.Name, b.Name) })
	all = slices.CompactFunc(all, func(a, b diff.RoleFact) bool { return a.Name == b.Name })
	return nilIfEmpty(all)
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
