package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// digestVersion changes whenever what Digest hashes changes, so that an old
// saved plan is never mistaken for a current one.
const digestVersion = "pgusers-desired-v3\n"

// Digest is a sha256, in hex, of what the files ask of the servers: the
// servers in order with every setting, principal, group role and grant.
// Where things were written (positions, the set a principal or role came
// from, the profile a grant names) is left out, so moving a principal
// between files or into a set, or privileges into a profile, keeps the
// digest, and a saved plan can tell whether the desired state it was made
// from changed.
func (d *Desired) Digest() string {
	servers := make([]Server, len(d.Servers))
	for i, s := range d.Servers {
		s.Pos = Position{}
		s.Protect = nilIfEmpty(s.Protect)
		ps := make([]Principal, len(s.Principals))
		for j, p := range s.Principals {
			p.Pos, p.Set = Position{}, ""
			p.MemberOf = nilIfEmpty(p.MemberOf)
			ps[j] = p
		}
		s.Principals = nilIfEmpty(ps)
		rs := make([]Role, len(s.Roles))
		for j, r := range s.Roles {
			r.Pos, r.Set = Position{}, ""
			r.MemberOf = nilIfEmpty(r.MemberOf)
			rs[j] = r
		}
		s.Roles = nilIfEmpty(rs)
		gs := make([]Grant, len(s.Grants))
		for j, g := range s.Grants {
			g.Pos, g.Profile = Position{}, ""
			g.Databases, g.Schemas, g.DefaultsFor = nilIfEmpty(g.Databases), nilIfEmpty(g.Schemas), nilIfEmpty(g.DefaultsFor)
			kinds := make([]KindGrant, len(g.Kinds))
			for k, kg := range g.Kinds {
				kg.Privileges = nilIfEmpty(kg.Privileges)
				kinds[k] = kg
			}
			g.Kinds = nilIfEmpty(kinds)
			gs[j] = g
		}
		s.Grants = nilIfEmpty(gs)
		servers[i] = s
	}
	// encoding/json writes struct fields in declaration order and these
	// structs hold no maps, so the bytes are canonical.
	b, err := json.Marshal(servers)
	if err != nil {
		panic("spec: a Server cannot be encoded: " + err.Error()) // only strings, ints and bools
	}
	sum := sha256.Sum256(append([]byte(digestVersion), b...))
	return hex.EncodeToString(sum[:])
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
