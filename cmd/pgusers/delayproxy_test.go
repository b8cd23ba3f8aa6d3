package main

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// delayProxy forwards TCP connections to target, holding every chunk of
// bytes for oneWay in each direction: a round trip costs 2×oneWay more, as
// the distance to a server in another region would. Order is kept: chunks
// leave in the order they arrived.
type delayProxy struct {
	ln     net.Listener
	target string
	oneWay time.Duration
	wg     sync.WaitGroup
}

func startDelayProxy(tb testing.TB, target string, oneWay time.Duration) *delayProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &delayProxy{ln: ln, target: target, oneWay: oneWay}
	p.wg.Add(1)
	go p.serve()
	tb.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *delayProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *delayProxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
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
func (p *delayProxy) pipe(dst, src net.Conn) {
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
