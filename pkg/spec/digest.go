package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// digestVersion changes whenever what Digest hashes changes, so that an old
// saved plan is never mistaken for a current one.
const digestVersion = "pgusers-desired-v2\n"

// Digest is a sha256, in hex, of what the files ask of the servers: the
// servers in order with every setting and principal. Where things were
// written (positions, and the set a principal came from) is left out, so
// moving a principal between files or into a set keeps the digest, and a
// saved plan can tell whether the desired state it was made from changed.
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
