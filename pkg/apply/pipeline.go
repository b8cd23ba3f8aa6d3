package apply

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgusers/pgusers/pkg/diff"
)

// execute sends every statement of the plan in one pipeline and reads the
// results in order; the first failure names its statement.
//
// A statement with arguments (the pgaadauth creates) is prepared once per
// distinct SQL text and then executed with each change's arguments: a plan
// that creates 10,000 principals parses and plans that SELECT once, not
// 10,000 times, which makes the whole apply about a quarter faster. The
// prepares, the executions and the deallocations travel in the same
// pipeline, so the plan is still one round trip.
func execute(ctx context.Context, tx pgx.Tx, plan diff.Plan) error {
	reqs, err := pipelineRequests(plan)
	if err != nil || len(reqs) == 0 {
		return err
	}
	p := tx.Conn().PgConn().StartPipeline(ctx)
	for _, r := range reqs {
		switch r.kind {
		case prepareRequest:
			p.SendPrepare(r.name, r.stmt.SQL, r.oids)
		case queryRequest:
			if r.name == "" {
				p.SendQueryParams(r.stmt.SQL, nil, nil, nil, nil)
			} else {
				p.SendQueryPrepared(r.name, r.values, nil, nil)
			}
		case deallocateRequest:
			p.SendDeallocate(r.name)
		}
	}
	p.SendPipelineSync()
	if err := p.Flush(); err != nil {
		p.Close()
		return fmt.Errorf("apply: send the statements: %w", err)
	}

	var failure error
	for _, r := range reqs {
		res, err := p.GetResults()
		if err == nil {
			if rr, ok := res.(*pgconn.ResultReader); ok {
				_, err = rr.Close()
			}
		}
		if err != nil {
			failure = r.fail(err)
			break
		}
	}
	// After a failure the server skips to the sync, and so does the
	// pipeline: the next result is the sync either way.
	if _, err := p.GetResults(); err != nil && failure == nil {
		failure = fmt.Errorf("apply: %w", err)
	}
	if err := p.Close(); err != nil && failure == nil {
		failure = fmt.Errorf("apply: %w", err)
	}
	return failure
}

type requestKind int

const (
	prepareRequest requestKind = iota
	queryRequest
	deallocateRequest
)

// request is one message of the apply pipeline, with the change it serves.
type request struct {
	kind   requestKind
	change diff.Change
	stmt   diff.Statement
	name   string   // the prepared statement's, "" for a statement sent as it is
	oids   []uint32 // prepare: the parameter types
	values [][]byte // query: the arguments in text format
}

// fail turns a request's error into what the user reads: which change and
// statement failed, and what the server said.
func (r request) fail(err error) error {
	var pgErr *pgconn.PgError
	if r.kind == deallocateRequest || !errors.As(err, &pgErr) {
		return fmt.Errorf("apply: %s %s: %w", r.change.Action, r.change.Principal, err)
	}
	return &StatementError{Change: r.change, Statement: r.stmt, Err: describePgError(err)}
}

// pipelineRequests lays out the plan as pipeline messages: a prepare before
// the first use of each SQL text that takes arguments, every statement in
// plan order, and the deallocations last. Arguments are encoded here, before
// anything is sent, so that a bad one fails with nothing on the wire.
func pipelineRequests(plan diff.Plan) ([]request, error) {
	prefix, err := statementPrefix()
	if err != nil {
		return nil, err
	}
	var reqs []request
	var names []string
	prepared := map[string]string{}
	for _, c := range plan.Changes {
		for _, s := range c.Statements {
			if len(s.Args) == 0 {
				reqs = append(reqs, request{kind: queryRequest, change: c, stmt: s})
				continue
			}
			values, oids, err := encodeArgs(s.Args)
			if err != nil {
				return nil, fmt.Errorf("apply: %s %s: %w", c.Action, c.Principal, err)
			}
			name, ok := prepared[s.SQL]
			if !ok {
				name = fmt.Sprintf("%s_%d", prefix, len(names))
				prepared[s.SQL] = name
				names = append(names, name)
				reqs = append(reqs, request{kind: prepareRequest, change: c, stmt: s, name: name, oids: oids})
			}
			reqs = append(reqs, request{kind: queryRequest, change: c, stmt: s, name: name, values: values})
		}
	}
	for _, name := range names {
		reqs = append(reqs, request{kind: deallocateRequest, name: name})
	}
	return reqs, nil
}

// statementPrefix names this apply's prepared statements. It is random:
// after a failure the deallocations never ran, and a retry on the same
// connection must not meet its failed try's names.
func statementPrefix() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("apply: name the prepared statements: %w", err)
	}
	return "pgusers_" + hex.EncodeToString(b[:]), nil
}

// encodeArgs encodes a statement's arguments in text format with their
// types. A plan's arguments are role names, object ids, object types and
// flags: strings and booleans.
func encodeArgs(args []any) ([][]byte, []uint32, error) {
	values := make([][]byte, len(args))
	oids := make([]uint32, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			values[i], oids[i] = []byte(v), pgtype.TextOID
		case bool:
			values[i], oids[i] = []byte("f"), pgtype.BoolOID
			if v {
				values[i] = []byte("t")
			}
		default:
			return nil, nil, fmt.Errorf("argument %d is a %T; a plan passes only strings and booleans", i+1, a)
		}
	}
	return values, oids, nil
}
