package apply

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/diff"
)

// The transaction's id comes first (no round trip of its own); each SQL
// text with arguments is prepared once, before its first use, and
// deallocated at the end; statements without arguments go as they are.
func TestPipelineRequests(t *testing.T) {
	create := "SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, $3, $4, $5)"
	byName := "SELECT pg_catalog.pgaadauth_create_principal($1, $2, $3)"
	plan := diff.Plan{Changes: []diff.Change{
		{Action: diff.Create, Principal: "a", Statements: []diff.Statement{{SQL: create, Args: []any{"a", "oid-a", "user", false, true}}}},
		{Action: diff.Create, Principal: "b", Statements: []diff.Statement{{SQL: byName, Args: []any{"b", true, false}}}},
		{Action: diff.Create, Principal: "c", Statements: []diff.Statement{{SQL: create, Args: []any{"c", "oid-c", "group", false, false}}}},
		{Action: diff.Drop, Principal: "d", Statements: []diff.Statement{{SQL: `DROP ROLE "d"`}}},
	}}
	reqs, err := pipelineRequests(plan.Changes)
	if err != nil {
		t.Fatal(err)
	}
	type shape struct {
		Kind   requestKind
		Who    string
		Named  bool
		OIDs   []uint32
		Values []string
	}
	var got []shape
	var args argEncoder
	for _, r := range reqs {
		sh := shape{Kind: r.kind, Named: r.name != "", OIDs: r.oids}
		if r.change != nil {
			sh.Who = r.change.Principal
		}
		if r.kind == queryRequest && r.name != "" {
			for _, v := range args.encode(r.stmt.Args) {
				sh.Values = append(sh.Values, string(v))
			}
		}
		got = append(got, sh)
	}
	want := []shape{
		{xactIDRequest, "", false, nil, nil},
		{prepareRequest, "a", true, []uint32{25, 25, 25, 16, 16}, nil},
		{queryRequest, "a", true, nil, []string{"a", "oid-a", "user", "f", "t"}},
		{prepareRequest, "b", true, []uint32{25, 16, 16}, nil},
		{queryRequest, "b", true, nil, []string{"b", "t", "f"}},
		{queryRequest, "c", true, nil, []string{"c", "oid-c", "group", "f", "f"}},
		{queryRequest, "d", false, nil, nil},
		{deallocateRequest, "", true, nil, nil},
		{deallocateRequest, "", true, nil, nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if reqs[2].name != reqs[5].name || reqs[2].name == reqs[4].name {
		t.Errorf("statement names: a %q, b %q, c %q; want a and c to share one, b its own", reqs[2].name, reqs[4].name, reqs[5].name)
	}
	again, err := pipelineRequests(plan.Changes)
	if err != nil {
		t.Fatal(err)
	}
	if again[1].name == reqs[1].name {
		t.Errorf("two applies named their statements alike (%q): a retry would meet its failed try's", reqs[1].name)
	}
}

func TestPipelineRequestsRefuseOtherArguments(t *testing.T) {
	plan := diff.Plan{Changes: []diff.Change{{Action: diff.Create, Principal: "a",
		Statements: []diff.Statement{{SQL: "SELECT $1", Args: []any{3.5}}}}}}
	_, err := pipelineRequests(plan.Changes)
	if err == nil || !strings.Contains(err.Error(), "argument 1 is a float64") {
		t.Errorf("err = %v, want a message naming the argument and its type", err)
	}
}

// A connection lost while the pipeline's last replies (the releases of its
// prepared statements) are read is a lost connection, not the release's
// failure: the transaction went with it.
func TestLostDuringReleaseIsLost(t *testing.T) {
	err := request{kind: deallocateRequest, name: "pgusers_x_0"}.fail(io.ErrUnexpectedEOF)
	var le *LostError
	if !errors.As(err, &le) {
		t.Fatalf("fail(unexpected EOF) = %T %v, want a LostError", err, err)
	}
	err = request{kind: deallocateRequest, name: "pgusers_x_0"}.fail(&pgconn.PgError{Code: "26000", Message: "prepared statement does not exist"})
	if errors.As(err, &le) || !strings.Contains(err.Error(), "release the prepared statement pgusers_x_0") {
		t.Errorf("the server refusing the release: %v", err)
	}
}
