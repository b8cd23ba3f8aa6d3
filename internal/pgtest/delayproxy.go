package pgtest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// DelayProxy, for benchmarks, forwards TCP connections to target, holding every chunk of
// bytes for oneWay in each direction: a round trip costs 2×oneWay more, as
// the distance to a server in another region would. Order is kept: chunks
// leave in the order they arrived. It listens on as many ports as asked:
// pgusers refuses two server entries with one host and port, so a fleet
// behind it gives each server a port of its own.
//
// It also counts, on the wire, what a client it cannot see into (another
// process) costs: the connections it accepts (sessions) and the round trips
// on them, as RoundTripCounter counts them, sign-in included.
type DelayProxy struct {
	lns    []net.Listener
	target string
	oneWay time.Duration
	wg     sync.WaitGroup
	// RoundTrips counts the round trips of every connection forwarded.
	RoundTrips RoundTripCounter
	sessions   atomic.Int64
}

// Sessions is how many connections the proxy accepted since it started or
// since ResetCounts.
func (p *DelayProxy) Sessions() int { return int(p.sessions.Load()) }

// ResetCounts sets the sessions and the round trips back to zero.
func (p *DelayProxy) ResetCounts() {
	p.sessions.Store(0)
	p.RoundTrips.Reset()
}

// StartDelayProxy starts a DelayProxy to target on ports ports; it
// stops when tb ends.
func StartDelayProxy(tb testing.TB, target string, oneWay time.Duration, ports int) *DelayProxy {
	tb.Helper()
	p := &DelayProxy{target: target, oneWay: oneWay}
	tb.Cleanup(func() {
		for _, ln := range p.lns {
			ln.Close()
		}
		p.wg.Wait()
	})
	for range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		p.lns = append(p.lns, ln)
		p.wg.Add(1)
		go p.serve(ln)
	}
	return p
}

// Port is the i-th port the proxy listens on.
func (p *DelayProxy) Port(i int) int { return p.lns[i].Addr().(*net.TCPAddr).Port }

func (p *DelayProxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		dialed, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.sessions.Add(1)
		// The proxy writes what the client sent and reads what the server
		// answers: a round trip of the client's is one of this connection.
		server := &countingConn{Conn: dialed, counter: &p.RoundTrips}
		p.wg.Add(2)
		go p.pipe(server, client)
		go p.pipe(client, server)
	}
}

type chunk struct {
	due  time.Time
	data []byte
}

// pipe copies src to dst, each chunk delayed by oneWay.
func (p *DelayProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	queue := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range queue {
			time.Sleep(time.Until(c.due))
			if _, err := dst.Write(c.data); err != nil {
				for range queue {
				}
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			queue <- chunk{due: time.Now().Add(p.oneWay), data: append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			close(queue)
			<-done
			if counted, ok := dst.(*countingConn); ok {
				dst = counted.Conn
			}
			if tcp, ok := dst.(*net.TCPConn); ok && err == io.EOF {
				tcp.CloseWrite()
			} else {
				dst.Close()
			}
			src.Close()
			return
		}
	}
}
