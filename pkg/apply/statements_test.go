package apply

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/diff"
)

// A connection lost while a statement's reply is read is a lost
// connection, not the statement's failure: the transaction went with it,
// and no statement is to blame. The server's own error names the change
// and the statement, with what the server said.
func TestStatementFailedTellsLostFromRefused(t *testing.T) {
	c := diff.Change{Action: diff.DropRole, Role: "legacy_rw", Statements: []diff.Statement{{SQL: `DROP ROLE "legacy_rw"`}}}
	var le *LostError
	if err := statementFailed(&c, &c.Statements[0], io.ErrUnexpectedEOF); !errors.As(err, &le) {
		t.Errorf("unexpected EOF: %T %v, want a LostError", err, err)
	}
	if err := statementFailed(nil, nil, io.ErrUnexpectedEOF); !errors.As(err, &le) {
		t.Errorf("unexpected EOF reading the transaction's id: %T %v, want a LostError", err, err)
	}
	err := statementFailed(&c, &c.Statements[0], &pgconn.PgError{Code: "2BP01", Message: `role "legacy_rw" cannot be dropped`, Detail: "owner of table t"})
	var se *StatementError
	if !errors.As(err, &se) || errors.As(err, &le) {
		t.Fatalf("the server's refusal: %T %v, want a StatementError", err, err)
	}
	for _, want := range []string{"drop-role legacy_rw failed", `DROP ROLE "legacy_rw"`, "SQLSTATE 2BP01", "owner of table t"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}
