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

// execute sends every statement of the changes in one pipeline and reads the
// results in order; the first failure names its statement.
//
// A statement with arguments (the pgaadauth creates) is prepared once per
// distinct SQL text and then executed with each change's arguments: a plan
// that creates 10,000 principals parses and plans that SELECT once, not
// 10,000 times, which makes the whole apply about a quarter faster. The
// prepares, the executions and the deallocations travel in the same
// pipeline, so the plan is still one round trip.
//
// The pipeline is flushed every flushEvery messages, not once at the end:
// the server runs the first statements while the rest are encoded.
//
// It returns the transaction's id, fetched at the head of the pipeline,
// for settle to ask about should the COMMIT reply be lost; a transaction
// sent no statement has none.
func execute(ctx context.Context, tx pgx.Tx, changes []diff.Change) (xact, error) {
	pc := tx.Conn().PgConn()
	x := xact{pid: pc.PID()}
	reqs, err := pipelineRequests(changes)
	if err != nil || len(reqs) == 0 {
		return x, err
	}
	p := pc.StartPipeline(ctx)
	if err := send(p, reqs); err != nil {
		return x, err
	}
	x.id, err = receive(p, reqs)
	return x, err
}

// send queues reqs on p, then the sync, and flushes.
func send(p *pgconn.Pipeline, reqs []request) error {
	var args argEncoder
	for i, r := range reqs {
		switch r.kind {
		case prepareRequest:
			p.SendPrepare(r.name, r.stmt.SQL, r.oids)
		case queryRequest:
			if r.name == "" {
				p.SendQueryParams(r.stmt.SQL, nil, nil, nil, nil)
			} else {
				// pgconn copies the values into its buffer at once, so
				// the encoder's buffers serve the next statement.
				p.SendQueryPrepared(r.name, args.encode(r.stmt.Args), nil, nil)
			}
		case deallocateRequest:
			p.SendDeallocate(r.name)
		case xactIDRequest:
			p.SendQueryParams(xactIDSQL, nil, nil, nil, nil)
		}
		if (i+1)%flushEvery == 0 {
			if err := p.Flush(); err != nil {
				p.Close()
				return lost("the change set", err)
			}
		}
	}
	p.SendPipelineSync()
	if err := p.Flush(); err != nil {
		p.Close()
		return lost("the change set", err)
	}
	return nil
}

// receive reads the results of reqs, then the sync, and closes p; the
// first failure names its statement.
func receive(p *pgconn.Pipeline, reqs []request) (string, error) {
	id, failure := receiveRequests(p, reqs)
	// After a failure the server skips to the sync, and so does the
	// pipeline: the next result is the sync either way.
	if _, err := p.GetResults(); err != nil && failure == nil {
		failure = lost("the change set", err)
	}
	if err := p.Close(); err != nil && failure == nil {
		failure = lost("the change set", err)
	}
	return id, failure
}

// receiveRequests reads the results of reqs up to the first failure, and
// the transaction's id.
func receiveRequests(p *pgconn.Pipeline, reqs []request) (id string, err error) {
	for _, r := range reqs {
		res, err := p.GetResults()
		if err == nil {
			if rr, ok := res.(*pgconn.ResultReader); ok {
				for r.kind == xactIDRequest && rr.NextRow() {
					id = xactID(rr.Values()[0])
				}
				_, err = rr.Close()
			}
		}
		if err != nil {
			return id, r.fail(err)
		}
	}
	return id, nil
}

// flushEvery is how many pipeline messages are queued before they are sent:
// about 100 KB of creates.
const flushEvery = 512

type requestKind int

const (
	prepareRequest requestKind = iota
	queryRequest
	deallocateRequest
	xactIDRequest // the transaction's id (xactIDSQL)
)

// request is one message of the apply pipeline, with the change it serves.
// It points into the plan: a plan of 10,000 changes is not copied.
type request struct {
	kind   requestKind
	change *diff.Change    // nil for a deallocation
	stmt   *diff.Statement // nil for a deallocation
	name   string          // the prepared statement's, "" for a statement sent as it is
	oids   []uint32        // prepare: the parameter types
}

// fail turns a request's error into what the user reads: which change and
// statement failed, and what the server said.
func (r request) fail(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		// Not the server's answer to this statement: the connection went,
		// and the transaction with it. No statement is to blame.
		return lost("the change set", err)
	}
	switch r.kind {
	case deallocateRequest:
		return fmt.Errorf("apply: release the prepared statement %s: %w", r.name, err)
	case xactIDRequest:
		return fmt.Errorf("apply: read the transaction's id: %w", err)
	}
	return &StatementError{Change: *r.change, Statement: *r.stmt, Err: describePgError(err)}
}

// pipelineRequests lays out the plan as pipeline messages: the
// transaction's id first, a prepare before the first use of each SQL text
// that takes arguments, every statement in plan order, and the
// deallocations last; nothing for changes without statements. Every argument's type is checked
// here, before anything is sent, so that a bad one fails with nothing on
// the wire.
func pipelineRequests(changes []diff.Change) ([]request, error) {
	prefix, err := statementPrefix()
	if err != nil {
		return nil, err
	}
	n := 0
	for _, c := range changes {
		n += len(c.Statements)
	}
	if n == 0 {
		return nil, nil
	}
	reqs := make([]request, 0, n+3) // the id, and a prepare and a deallocation per SQL text, usually one
	reqs = append(reqs, request{kind: xactIDRequest})
	var names []string
	prepared := map[string]string{}
	for ci := range changes {
		c := &changes[ci]
		for si := range c.Statements {
			s := &c.Statements[si]
			if len(s.Args) == 0 {
				reqs = append(reqs, request{kind: queryRequest, change: c, stmt: s})
				continue
			}
			oids, err := argTypes(s.Args)
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
			reqs = append(reqs, request{kind: queryRequest, change: c, stmt: s, name: name})
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

// A plan's arguments are role names, object ids, object types and flags:
// strings and booleans, sent in text format.

// argTypes gives the types of a statement's arguments, and refuses any
// that is neither a string nor a boolean.
func argTypes(args []any) ([]uint32, error) {
	oids := make([]uint32, len(args))
	for i, a := range args {
		switch a.(type) {
		case string:
			oids[i] = pgtype.TextOID
		case bool:
			oids[i] = pgtype.BoolOID
		default:
			return nil, fmt.Errorf("argument %d is a %T; a plan passes only strings and booleans", i+1, a)
		}
	}
	return oids, nil
}

// argEncoder encodes arguments that argTypes accepted, in text format, into
// buffers it reuses from one statement to the next.
type argEncoder struct {
	values [][]byte
	buf    []byte
}

func (e *argEncoder) encode(args []any) [][]byte {
	e.values, e.buf = e.values[:0], e.buf[:0]
	for _, a := range args {
		start := len(e.buf)
		switch v := a.(type) {
		case string:
			e.buf = append(e.buf, v...)
		case bool:
			b := byte('f')
			if v {
				b = 't'
			}
			e.buf = append(e.buf, b)
		}
		e.values = append(e.values, e.buf[start:len(e.buf):len(e.buf)])
	}
	return e.values
}
