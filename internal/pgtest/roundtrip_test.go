package pgtest

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestRoundTripCounter(t *testing.T) {
	c := New(t)
	var counter RoundTripCounter
	config := c.AdminConfig(t)
	config.DialFunc = counter.Dial(config.DialFunc)
	config.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn := connect(t, config)
	if counter.Count() < 2 {
		t.Errorf("signing in with scram took %d round trips, want several", counter.Count())
	}
	ctx := context.Background()
	big := strings.Repeat("x", 1000)
	tests := []struct {
		name string
		run  func() error
		want int
	}{
		{"one query", func() error {
			_, err := conn.Exec(ctx, `SELECT 1`)
			return err
		}, 1},
		{"one query with arguments", func() error {
			var n int
			return conn.QueryRow(ctx, `SELECT $1::int`, 7).Scan(&n)
		}, 1},
		{"two queries", func() error {
			if _, err := conn.Exec(ctx, `SELECT 1`); err != nil {
				return err
			}
			_, err := conn.Exec(ctx, `SELECT 2`)
			return err
		}, 2},
		{"a batch", func() error {
			b := &pgx.Batch{}
			for range 3 {
				b.Queue(`SELECT 1`)
			}
			return conn.SendBatch(ctx, b).Close()
		}, 1},
		// Large enough that the client still writes while the server answers.
		{"a large batch", func() error {
			b := &pgx.Batch{}
			for range 2000 {
				b.Queue(`SELECT $1::text`, big)
			}
			return conn.SendBatch(ctx, b).Close()
		}, 1},
	}
	for _, tt := range tests {
		counter.Reset()
		if err := tt.run(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := counter.Count(); got != tt.want {
			t.Errorf("%s: %d round trips, want %d", tt.name, got, tt.want)
		}
	}
}

// A nil inner DialFunc dials as pgconn does.
func TestRoundTripCounterDefaultDialer(t *testing.T) {
	c := New(t)
	var counter RoundTripCounter
	config := c.AdminConfig(t)
	config.DialFunc = counter.Dial(nil)
	conn := connect(t, config)
	counter.Reset()
	mustExec(t, conn, `SELECT 1`)
	if got := counter.Count(); got != 1 {
		t.Errorf("%d round trips, want 1", got)
	}
}

// Closing a connection sends Terminate, which nothing answers: it is not a
// round trip, and a fleet's figures must not count one per server.
func TestRoundTripCounterIgnoresTheClosingWrite(t *testing.T) {
	c := New(t)
	var counter RoundTripCounter
	config := c.AdminConfig(t)
	config.DialFunc = counter.Dial(nil)
	conn, err := pgx.ConnectConfig(context.Background(), config)
	if err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	mustExec(t, conn, `SELECT 1`)
	if err := conn.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := counter.Count(); got != 1 {
		t.Errorf("a query and a close: %d round trips, want 1", got)
	}
}

// A DelayProxy counts, on the wire, the sessions and round trips of the
// clients it forwards, as a RoundTripCounter in the client counts them.
func TestDelayProxyCounts(t *testing.T) {
	c := New(t, Options{PlainPassword: true})
	proxy := StartDelayProxy(t, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), 0, 1)
	var counter RoundTripCounter
	ctx := context.Background()
	for i := range 2 {
		config := c.AdminConfig(t)
		config.Host, config.Port = "127.0.0.1", uint16(proxy.Port(0))
		config.DialFunc = counter.Dial(config.DialFunc)
		conn := connect(t, config)
		mustExec(t, conn, `SELECT 1`)
		b := &pgx.Batch{}
		for range 3 {
			b.Queue(`SELECT 1`)
		}
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := proxy.Sessions(), i+1; got != want {
			t.Errorf("%d sessions, want %d", got, want)
		}
		if got, want := proxy.RoundTrips.Count(), counter.Count(); got != want {
			t.Errorf("the proxy counted %d round trips, the client %d", got, want)
		}
	}
	proxy.ResetCounts()
	if proxy.Sessions() != 0 || proxy.RoundTrips.Count() != 0 {
		t.Errorf("after ResetCounts: %d sessions, %d round trips", proxy.Sessions(), proxy.RoundTrips.Count())
	}
}
