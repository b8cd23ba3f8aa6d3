package access

import "slices"

// Changes are what a server's grantees gained and lost since an earlier
// review: privileges, memberships and attributes, whatever their source.
type Changes struct {
	// Gained and Lost are sorted as rows are; a privilege held through
	// several sources is one row, the first.
	Gained []Row `json:"gained"`
	Lost   []Row `json:"lost"`
}

// Gained reports whether any server of d gained anything.
func (d Document) Gained() bool {
	return slices.ContainsFunc(d.Servers, func(s ServerReview) bool { return s.Changes != nil && len(s.Changes.Gained) > 0 })
}

// holding is what compare compares: a row without its source and the
// counts that only describe it.
type holding struct {
	database, grantee string
	kind              Kind
	schema, object    string
	privilege         string
	grantOption       bool
}

func holdingOf(r Row) holding {
	return holding{r.Database, r.Grantee, r.Kind, r.Schema, r.Object, r.Privilege, r.GrantOption}
}

// Compare sets the Changes of each server of d that was reviewed, against
// earlier's server of the same name (a server earlier lacks gained all it
// has). An object named now that earlier held through "*" (every object of
// its kind in its schema) is no gain: a new object that was not granted
// turns "*" into a list.
func Compare(d *Document, earlier Document) {
	for i := range d.Servers {
		s := &d.Servers[i]
		if s.Error != "" {
			continue
		}
		var before []Row
		if j := slices.IndexFunc(earlier.Servers, func(e ServerReview) bool { return e.Name == s.Name }); j >= 0 {
			before = earlier.Servers[j].Rows
		}
		s.Changes = &Changes{Gained: difference(s.Rows, before, true), Lost: difference(before, s.Rows, false)}
	}
}

// difference are the rows of a whose holdings b lacks.
func difference(a, b []Row, wildcard bool) []Row {
	have := map[holding]bool{}
	for _, r := range b {
		have[holdingOf(r)] = true
	}
	out := []Row{}
	seen := map[holding]bool{}
	for _, r := range a {
		h := holdingOf(r)
		if have[h] || seen[h] {
			continue
		}
		if wildcard && r.Object != "*" {
			all := h
			all.object = "*"
			if have[all] {
				continue
			}
		}
		seen[h] = true
		out = append(out, r)
	}
	return out
}
