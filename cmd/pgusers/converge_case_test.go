package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// convergeCase is one case of the randomized convergence test: a server
// state, written as SQL the superuser runs (facts), and a desired-state
// file over it (entries). Each fact and entry is one line that names the
// generator kind that made it, so that a failing case shrinks by dropping
// lines, and a saved case says which kinds it needs.
type convergeCase struct {
	Seed      int64
	Databases []string // created fresh for the case, owned by the superuser until a fact says otherwise
	Prune     bool
	Facts     []caseFact
	Entries   []caseEntry
	// Expect is what the case was saved for: the check that failed then.
	// Every case must pass every check; Expect only documents it.
	Expect string
	// Kinds is PGUSERS_CONVERGE_KINDS when the case was generated, for the
	// comment that says how to rerun its seed.
	Kinds string
}

// fact is one SQL line the superuser runs in database DB to set the
// server up, the way a person or another tool would have.
type caseFact struct {
	Kind string
	DB   string
	SQL  string
}

// caseEntry is one item of the server entry's principals, roles or
// grants, written as a YAML flow mapping on one line, or (section
// settings) one key of the server entry, "key: value".
type caseEntry struct {
	Kind    string
	Section string // "settings", "principals", "roles" or "grants"
	YAML    string
}

var entrySections = []string{"settings", "principals", "roles", "grants"}

// kinds lists the generator kinds the case's facts and entries come from.
func (c *convergeCase) kinds() []string {
	var ks []string
	for _, f := range c.Facts {
		ks = append(ks, f.Kind)
	}
	for _, e := range c.Entries {
		ks = append(ks, e.Kind)
	}
	slices.Sort(ks)
	return slices.Compact(ks)
}

// serverYAML is the server entry's keys after its port: what
// fixture.file takes.
func (c *convergeCase) serverYAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "    prune: %t\n    maxDrops: 100\n", c.Prune)
	for _, section := range entrySections {
		var items []string
		for _, e := range c.Entries {
			if e.Section == section {
				items = append(items, e.YAML)
			}
		}
		if len(items) == 0 {
			continue
		}
		if section == "settings" {
			for _, it := range items {
				fmt.Fprintf(&b, "    %s\n", it)
			}
			continue
		}
		fmt.Fprintf(&b, "    %s:\n", section)
		for _, it := range items {
			fmt.Fprintf(&b, "      - %s\n", it)
		}
	}
	return b.String()
}

// setupSQL is the facts as one psql script, for a person reproducing the
// case by hand on a server with the pgaadauth emulation.
func (c *convergeCase) setupSQL() string {
	var b strings.Builder
	for _, db := range c.Databases {
		fmt.Fprintf(&b, "CREATE DATABASE %s;\n", sqlIdent(db))
	}
	current := ""
	for _, f := range c.Facts {
		if f.DB != current {
			fmt.Fprintf(&b, "\\c %s\n", sqlIdent(f.DB))
			current = f.DB
		}
		fmt.Fprintf(&b, "%s;\n", f.SQL)
	}
	return b.String()
}

// The saved form is line-based, one fact or entry a line, so that a diff
// of a regression case reads like the case:
//
//	# comment
//	seed: 42
//	databases: cv1 cv2
//	prune: true
//	expect: the plan after one apply is empty
//	fact KIND DB SQL
//	entry KIND SECTION YAML
//
// Fields of fact and entry lines are separated by one tab.
func (c *convergeCase) format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# A case of TestConvergeRandom (cmd/pgusers/converge_random_test.go), shrunk; TestConvergeRegressions runs it.\n")
	rerun := fmt.Sprintf("PGUSERS_CONVERGE_SEED=%d", c.Seed)
	if c.Kinds != "" {
		rerun = "PGUSERS_CONVERGE_KINDS=" + c.Kinds + " " + rerun
	}
	fmt.Fprintf(&b, "# Kinds: %s. Rerun the seed unshrunk: %s go test -run TestConvergeRandom ./cmd/pgusers/\n", strings.Join(c.kinds(), ", "), rerun)
	fmt.Fprintf(&b, "seed: %d\ndatabases: %s\nprune: %t\nexpect: %s\n", c.Seed, strings.Join(c.Databases, " "), c.Prune, c.Expect)
	for _, f := range c.Facts {
		fmt.Fprintf(&b, "fact\t%s\t%s\t%s\n", f.Kind, f.DB, f.SQL)
	}
	for _, e := range c.Entries {
		fmt.Fprintf(&b, "entry\t%s\t%s\t%s\n", e.Kind, e.Section, e.YAML)
	}
	return b.String()
}

// parseCase reads what format wrote; errors name the line.
func parseCase(path string) (*convergeCase, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	c := &convergeCase{}
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		bad := func(why string) error { return fmt.Errorf("%s:%d: %s: %q", path, n, why, line) }
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "fact\t"):
			p := strings.SplitN(line, "\t", 4)
			if len(p) != 4 {
				return nil, bad("want fact KIND DB SQL, tab-separated")
			}
			c.Facts = append(c.Facts, caseFact{Kind: p[1], DB: p[2], SQL: p[3]})
		case strings.HasPrefix(line, "entry\t"):
			p := strings.SplitN(line, "\t", 4)
			if len(p) != 4 || !slices.Contains(entrySections, p[2]) {
				return nil, bad("want entry KIND SECTION YAML, tab-separated, SECTION one of settings, principals, roles, grants")
			}
			c.Entries = append(c.Entries, caseEntry{Kind: p[1], Section: p[2], YAML: p[3]})
		default:
			key, value, ok := strings.Cut(line, ": ")
			if !ok {
				return nil, bad("want KEY: VALUE, fact or entry")
			}
			switch key {
			case "seed":
				if c.Seed, err = strconv.ParseInt(value, 10, 64); err != nil {
					return nil, bad("the seed is not a number")
				}
			case "databases":
				c.Databases = strings.Fields(value)
			case "prune":
				if c.Prune, err = strconv.ParseBool(value); err != nil {
					return nil, bad("prune is true or false")
				}
			case "expect":
				c.Expect = value
			default:
				return nil, bad("unknown key")
			}
		}
	}
	return c, sc.Err()
}
