package inspect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/diff"
)

// QueuePrincipals adds to b the part of Queue's read that names who is
// signed in and the Entra principals, without what only a plan needs (what
// roles own and hold, counted over pg_shdepend: most of a read's time on a
// server of many objects). ReadPrincipals reads it. Access reviews use it.
func QueuePrincipals(b *pgx.Batch) {
	b.Queue(sessionSQL)
	b.Queue(principalsSQL)
}

// Principals are who is signed in and the Entra principals, sorted by
// name (their MemberOf empty).
type Principals struct {
	SessionUser, Database string
	ServerVersion         int
	Principals            []diff.ObservedPrincipal
}

// ReadPrincipals reads what QueuePrincipals queued.
func ReadPrincipals(br pgx.BatchResults) (Principals, error) {
	var p Principals
	var groupSync bool
	if err := br.QueryRow().Scan(&p.SessionUser, &p.Database, &p.ServerVersion, &groupSync); err != nil {
		return p, fmt.Errorf("read the signed-in user: %w", err)
	}
	var err error
	if p.Principals, err = readPrincipals(br); err != nil {
		return p, fmt.Errorf("list principals: %w", err)
	}
	slices.SortFunc(p.Principals, func(a, b diff.ObservedPrincipal) int { return strings.Compare(a.Name, b.Name) })
	return p, nil
}
