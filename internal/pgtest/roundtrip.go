package pgtest

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// RoundTripCounter counts the client round trips of the connections it
// dials, to pin claims such as "the inspection takes one round trip". A
// round trip is the client writing, then reading an answer: it is counted
// when the first answer arrives, so a batch or pipeline sent in one go and
// read back is one, however many statements it holds, and a write nothing
// answers (the Terminate message that closes a connection) is none.
// Sign-in round trips count too; Reset after connecting.
//
// Reads made while a write is still in progress (pgconn reads in the
// background when a large write blocks) do not count. Over TLS
// the counter sees records, not messages: one large write split into
// records while the server already answers may count more than once.
//
// The zero value is ready to use, and it is safe for concurrent use.
type RoundTripCounter struct {
	n atomic.Int64
}

// Count returns the round trips since the start or the last Reset.
func (r *RoundTripCounter) Count() int { return int(r.n.Load()) }

// Reset sets the count back to zero.
func (r *RoundTripCounter) Reset() { r.n.Store(0) }

// Dial wraps a pgconn.DialFunc (nil means a plain net.Dialer, as pgconn
// uses) so that the connections it makes are counted:
//
//	config.DialFunc = counter.Dial(config.DialFunc)
func (r *RoundTripCounter) Dial(inner pgconn.DialFunc) pgconn.DialFunc {
	if inner == nil {
		d := &net.Dialer{KeepAlive: 5 * time.Minute}
		inner = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := inner(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := &countingConn{Conn: conn, counter: r}
		return c, nil
	}
}

type countingConn struct {
	net.Conn
	counter        *RoundTripCounter
	wroteSinceRead atomic.Bool
	writing        atomic.Int32
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writing.Add(1)
	defer c.writing.Add(-1)
	c.wroteSinceRead.Store(true)
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.writing.Load() == 0 && c.wroteSinceRead.Swap(false) {
		c.counter.n.Add(1)
	}
	return n, err
}
