package e2e_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// faultProxy forwards TCP connections on 127.0.0.1 to a PostgreSQL server
// and reads the wire protocol of both directions as it goes: the client's
// startup packet (an int32 length and no type byte; an SSLRequest or
// GSSENCRequest is answered by the server with a single byte), then
// messages of a type byte and an int32 length that counts itself.
//
// One fault at a time is armed (arm). The first connection that sends a
// BEGIN (a simple query "begin", as pgx's Begin sends it, or the Parse of
// one at the head of apply's pipeline; a READ ONLY one is not an apply's) claims it: the apply's connection, since pgusers plans and
// applies on one connection. From the message carrying BEGIN the proxy
// counts, on that connection, the client's messages and the bytes of the
// server's replies, through the reply to COMMIT (its ReadyForQuery), and
// fires the fault there:
//
//   - cutAfterMessage: forward the client's K-th message counted from
//     BEGIN (BEGIN is 1; 0 means BEGIN itself is not forwarded), then close
//     both sides. No reply to it, or to anything else not yet forwarded,
//     reaches the client.
//   - cutAfterByte: forward exactly K bytes of the server's replies counted
//     from the first byte of BEGIN's reply, then close both sides.
//   - stallAfterByte: forward exactly K bytes of the server's replies, then
//     forward nothing more to the client (the client's messages still reach
//     the server) until the client goes away.
//   - stallAtCommit: once COMMIT is forwarded, forward nothing more to the
//     client until it goes away: the server commits, the client never
//     hears.
//   - record: fire nothing; note every message and byte offset, for a
//     dry run that sizes the sweeps.
//   - delayCommit: once the client sends COMMIT, close the client's side at
//     once and forward COMMIT to the server delay later: the server
//     commits after the client is gone.
//   - killAfterMessage: forward the client's K-th message, then run the
//     fault's kill hook (which kills pgusers with SIGKILL) before anything
//     else the client sends.
//
// A fault with a database is claimed only by a connection to that
// database, and with nth only by the nth BEGIN on such connections (a
// phased apply opens one connection per database, and its drops' BEGIN is
// the second on the connected database's).
//
// With refuse, once the fault fired, every new connection is reset at
// once, as if the server could no longer be reached.
//
// resetFirstQuery is claimed by the first connection that sends a message
// after signing in (the server's first ReadyForQuery): the proxy resets
// both sides (RST) instead of forwarding it.
//
// A cut closes with FIN, or with RST when the fault says so. Decisions are
// taken under the connection's lock, and the cut flag, set there, stops
// both directions at once: after it nothing more is let through (a message
// let through just before may still be on its way, as on a real network).
// Bytes are written outside the lock, so a large pipeline cannot deadlock
// the proxy.
//
// The proxy also counts BEGINs and COMMITs over all connections, and takes
// hooks that may hold a BEGIN or a COMMIT back (the concurrency test's
// gates).
type faultProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu      sync.Mutex
	fault   *fault // armed, claimed or fired; nil: forward everything
	conns   map[*proxyConn]bool
	nextID  int
	begins  int
	commits int
	// beforeBegin and beforeCommit, when set, run before a BEGIN or a
	// COMMIT is forwarded, outside any lock: they may block.
	beforeBegin  func(conn int)
	beforeCommit func(conn int)
}

type faultKind int

const (
	faultRecord faultKind = iota
	cutAfterMessage
	cutAfterByte
	stallAfterByte
	stallAtCommit
	resetFirstQuery
	delayCommit
	killAfterMessage
)

func (k faultKind) String() string {
	return [...]string{"record", "cut after message", "cut after byte", "stall after byte", "stall at COMMIT", "reset at the first query",
		"COMMIT delayed after the client's side is gone", "kill -9 after message"}[k]
}

// Phases of an apply's transaction, from the proxy's side, when a fault
// fired.
const (
	phaseBeforeBeginReply = "before BEGIN reply" // the client had not read BEGIN's reply
	phasePipeline         = "pipeline"           // BEGIN answered, COMMIT not forwarded: lock, re-read, statements
	phaseCommitSent       = "COMMIT sent"        // COMMIT forwarded, no byte of its reply delivered
	phaseCommitReply      = "COMMIT reply"       // some or all of COMMIT's reply delivered
)

// fault is one armed fault and, once it fired, what happened.
type fault struct {
	kind  faultKind
	k     int
	reset bool // close with RST instead of FIN
	// refuse, once the fault fired, resets every new connection at once:
	// the server cannot be reached again.
	refuse bool
	// database and nth narrow which BEGIN claims the fault; begins counts
	// the BEGINs that could have.
	database string
	nth      int
	begins   int
	// delay is how long delayCommit holds COMMIT back.
	delay time.Duration
	// kill is killAfterMessage's hook.
	kill func()

	claimed bool
	fired   bool
	phase   string
	// Recorded, for kind record (and counted for the others too).
	rec recording
}

// recording is what a connection carried from BEGIN through COMMIT's
// reply.
type recording struct {
	messages    []wireMsg // the client's, from BEGIN (index 0 is message 1) through COMMIT
	replies     []wireMsg // the server's, from BEGIN's reply through COMMIT's ReadyForQuery
	commitIndex int       // the message number (from 1) of COMMIT; 0 if none was seen
	beginEnd    int       // the byte offset where BEGIN's reply ends
	commitStart int       // the byte offset where COMMIT's reply starts
	total       int       // bytes from BEGIN's reply through COMMIT's ReadyForQuery
	complete    bool      // COMMIT's ReadyForQuery was seen
}

// wireMsg is one protocol message: its type, its number from BEGIN (the
// client's) or the byte offset where it starts from BEGIN's reply (the
// server's), its length with the type byte, and for a query or a parse,
// the start of its SQL.
type wireMsg struct {
	typ   byte
	start int
	size  int
	sql   string
}

func (m wireMsg) String() string {
	if m.sql != "" {
		return fmt.Sprintf("%c %d %q", m.typ, m.size, m.sql)
	}
	return fmt.Sprintf("%c %d", m.typ, m.size)
}

func startProxy(tb testing.TB, target string) *faultProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, conns: map[*proxyConn]bool{}}
	p.wg.Add(1)
	go p.serve()
	tb.Cleanup(p.close)
	return p
}

func (p *faultProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *faultProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	var conns []*proxyConn
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.closeBoth(false)
	}
	p.wg.Wait()
}

// arm arms f for the next connection that claims it; nil disarms.
func (p *faultProxy) arm(f *fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// result returns a copy of the armed fault as it is now.
func (p *faultProxy) result() fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fault == nil {
		return fault{}
	}
	f := *p.fault
	f.rec.messages = append([]wireMsg(nil), f.rec.messages...)
	f.rec.replies = append([]wireMsg(nil), f.rec.replies...)
	return f
}

// counts returns the BEGINs and COMMITs forwarded so far, over every
// connection.
func (p *faultProxy) counts() (begins, commits int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.begins, p.commits
}

// resetCounts sets the BEGIN and COMMIT counts back to zero.
func (p *faultProxy) resetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.begins, p.commits = 0, 0
}

// setHooks sets the hooks (nil: none).
func (p *faultProxy) setHooks(beforeBegin, beforeCommit func(conn int)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.beforeBegin, p.beforeCommit = beforeBegin, beforeCommit
}

func (p *faultProxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.fault != nil && p.fault.fired && p.fault.refuse
		p.mu.Unlock()
		if refuse {
			client.(*net.TCPConn).SetLinger(0)
			client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.nextID++
		c := &proxyConn{p: p, id: p.nextID, client: client.(*net.TCPConn), server: server.(*net.TCPConn), closed: make(chan struct{})}
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Add(2)
		go c.clientToServer()
		go c.serverToClient()
	}
}

// proxyConn is one client connection and its server connection.
type proxyConn struct {
	p      *faultProxy
	id     int
	client *net.TCPConn
	server *net.TCPConn

	closeOnce sync.Once
	closed    chan struct{}

	mu sync.Mutex
	// Startup.
	sslReply bool // the server answers the client's last packet with one byte
	raw      bool // TLS or GSS: bytes are copied without being read
	signedIn bool // the server's first ReadyForQuery went to the client
	queried  bool // the client sent a message after signing in
	// The claimed fault, and the count from BEGIN.
	f           *fault
	counting    bool // BEGIN forwarded, COMMIT's reply not complete
	msgs        int  // client messages from BEGIN
	syncs       int  // Syncs and Queries from BEGIN, each answered by one ReadyForQuery
	commitSyncs int  // syncs when COMMIT was forwarded; 0 before
	commitSent  bool
	sbytes      int // server bytes from BEGIN's reply
	readys      int // ReadyForQuery messages from BEGIN's reply
	beginDone   bool
	beginEnd    int // where BEGIN's reply ends, in sbytes
	commitStart int // where COMMIT's reply starts, in sbytes
	cut         bool
	stalled     bool
	database    string // from the startup packet
	// afterForward runs once the message being decided was forwarded.
	afterForward func()
}

func (c *proxyConn) closeBoth(reset bool) {
	c.closeOnce.Do(func() {
		if reset {
			c.client.SetLinger(0)
			c.server.SetLinger(0)
		} else {
			// FIN after what was written.
			c.client.CloseWrite()
		}
		c.client.Close()
		c.server.Close()
		close(c.closed)
		c.p.mu.Lock()
		delete(c.p.conns, c)
		c.p.mu.Unlock()
	})
}

// Startup packet codes.
const (
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	cancelRequestCode = 80877102
)

func (c *proxyConn) clientToServer() {
	defer c.p.wg.Done()
	defer c.closeBoth(false)
	// The startup packet, and again after a refused SSLRequest or
	// GSSENCRequest.
	for {
		pkt, err := readStartup(c.client)
		if err != nil {
			return
		}
		code := binary.BigEndian.Uint32(pkt[4:8])
		c.mu.Lock()
		c.sslReply = code == sslRequestCode || code == gssEncRequestCode
		if db, ok := startupParam(pkt, "database"); ok {
			c.database = db
		}
		c.mu.Unlock()
		if _, err := c.server.Write(pkt); err != nil {
			return
		}
		if code == cancelRequestCode {
			io.Copy(io.Discard, c.client)
			return
		}
		if !c.sslReply {
			break
		}
		// Wait for the server's one-byte answer: 'S' turns the rest raw.
		for {
			c.mu.Lock()
			waiting, raw := c.sslReply, c.raw
			c.mu.Unlock()
			if raw {
				io.Copy(c.server, c.client)
				return
			}
			if !waiting {
				break
			}
			select {
			case <-c.closed:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}
	for {
		msg, err := readMessage(c.client)
		if err != nil {
			// The client went away (after a Terminate, or not): so
			// does the server connection.
			return
		}
		sql := messageSQL(msg)
		begin := (msg[0] == 'Q' || msg[0] == 'P') && isBegin(sql)
		commit := (msg[0] == 'Q' || msg[0] == 'P') && isCommit(sql)
		c.p.mu.Lock()
		beforeBegin, beforeCommit := c.p.beforeBegin, c.p.beforeCommit
		c.p.mu.Unlock()
		if begin && beforeBegin != nil {
			beforeBegin(c.id)
		}
		if commit && beforeCommit != nil {
			beforeCommit(c.id)
		}
		forward, cut, reset := c.decideClient(msg, sql, begin, commit)
		if forward {
			if _, err := c.server.Write(msg); err != nil {
				return
			}
		}
		c.mu.Lock()
		after := c.afterForward
		c.afterForward = nil
		c.mu.Unlock()
		if after != nil {
			after()
		}
		if cut {
			c.closeBoth(reset)
			return
		}
	}
}

// delayed closes the client's side, then forwards msg (COMMIT) to the
// server after delay, and closes the server's side once it had time to
// answer.
func (c *proxyConn) delayed(msg []byte, delay time.Duration) {
	c.client.SetLinger(0)
	c.client.Close()
	time.Sleep(delay)
	c.server.Write(msg)
	time.Sleep(time.Second)
	c.closeBoth(false)
}

// startupParam is the value of a startup packet's parameter.
func startupParam(pkt []byte, name string) (string, bool) {
	if len(pkt) < 8 || binary.BigEndian.Uint32(pkt[4:8]) != 196608 {
		return "", false
	}
	fields := bytes.Split(pkt[8:], []byte{0})
	for i := 0; i+1 < len(fields); i += 2 {
		if string(fields[i]) == name {
			return string(fields[i+1]), true
		}
	}
	return "", false
}

// decideClient counts a client message and says whether to forward it and
// whether to cut the connection after.
func (c *proxyConn) decideClient(msg []byte, sql string, begin, commit bool) (forward, cut, reset bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return false, false, false
	}
	p := c.p
	if c.signedIn && !c.queried {
		c.queried = true
		p.mu.Lock()
		f := p.fault
		if f != nil && f.kind == resetFirstQuery && !f.claimed {
			f.claimed, f.fired, f.phase = true, true, "after sign-in"
			c.cut = true
			p.mu.Unlock()
			return false, true, true
		}
		p.mu.Unlock()
	}
	if begin {
		p.mu.Lock()
		p.begins++
		f := p.fault
		if c.f == nil && f != nil && f.kind != resetFirstQuery && !f.claimed && (f.database == "" || f.database == c.database) {
			f.begins++
			if f.nth == 0 || f.begins == f.nth {
				f.claimed = true
				c.f = f
				c.counting = true
			}
		}
		p.mu.Unlock()
	}
	if commit {
		p.mu.Lock()
		p.commits++
		p.mu.Unlock()
	}
	if !c.counting {
		return true, false, false
	}
	f := c.f
	c.msgs++
	if msg[0] == 'Q' || msg[0] == 'S' {
		c.syncs++
	}
	if !c.commitSent {
		p.mu.Lock()
		f.rec.messages = append(f.rec.messages, wireMsg{typ: msg[0], start: c.msgs, size: len(msg), sql: shorten(sql)})
		if commit {
			f.rec.commitIndex = c.msgs
		}
		p.mu.Unlock()
	}
	if f.kind == cutAfterMessage && f.k == 0 && c.msgs == 1 {
		c.fire(phaseBeforeBeginReply)
		return false, true, f.reset
	}
	if commit && !c.commitSent && f.kind == delayCommit {
		c.commitSent = true
		c.fire(phaseCommitSent)
		c.afterForward = func() { c.delayed(msg, f.delay) }
		return false, false, false
	}
	if commit && !c.commitSent {
		c.commitSent = true
		if c.stalled {
			// The replies stopped before; COMMIT went through anyway.
			p.mu.Lock()
			f.phase = phaseCommitSent
			p.mu.Unlock()
		}
		// COMMIT's reply ends with the ReadyForQuery of the first Sync
		// or Query from COMMIT on: this one if it is a query.
		c.commitSyncs = c.syncs
		if msg[0] != 'Q' {
			c.commitSyncs++
		}
	}
	if f.kind == cutAfterMessage && c.msgs == f.k {
		c.fire(c.phaseNow())
		return true, true, f.reset
	}
	if f.kind == killAfterMessage && c.msgs == f.k {
		c.p.mu.Lock()
		f.fired, f.phase = true, c.phaseNow()
		c.p.mu.Unlock()
		c.afterForward = f.kill
	}
	return true, false, false
}

// phaseNow is where the transaction is, for the client, at this point.
// Called with c.mu held.
func (c *proxyConn) phaseNow() string {
	switch {
	case !c.beginDone:
		return phaseBeforeBeginReply
	case !c.commitSent:
		return phasePipeline
	case c.readys < c.commitSyncs-1 || c.sbytes == c.commitStart:
		return phaseCommitSent
	}
	return phaseCommitReply
}

// fire marks the fault fired and the connection cut. Called with c.mu
// held.
func (c *proxyConn) fire(phase string) {
	c.cut = true
	c.p.mu.Lock()
	c.f.fired, c.f.phase = true, phase
	c.p.mu.Unlock()
}

func (c *proxyConn) serverToClient() {
	defer c.p.wg.Done()
	defer c.closeBoth(false)
	for {
		var first [1]byte
		if _, err := io.ReadFull(c.server, first[:]); err != nil {
			return
		}
		c.mu.Lock()
		single := c.sslReply
		if single {
			c.sslReply = false
			c.raw = first[0] == 'S' || first[0] == 'G'
		}
		c.mu.Unlock()
		if single {
			if _, err := c.client.Write(first[:]); err != nil {
				return
			}
			if first[0] == 'S' || first[0] == 'G' {
				io.Copy(c.client, c.server)
				return
			}
			continue
		}
		msg, err := readMessageAfter(c.server, first[0])
		if err != nil {
			return
		}
		n, cut, stall := c.decideServer(msg)
		if n > 0 {
			if _, err := c.client.Write(msg[:n]); err != nil {
				return
			}
		}
		if cut {
			c.closeBoth(c.f != nil && c.f.reset)
			return
		}
		if stall {
			// Forward nothing more; wait for the client to go away.
			select {
			case <-c.closed:
			case <-time.After(2 * time.Minute):
			}
			return
		}
	}
}

// decideServer counts a server message and says how many of its bytes to
// forward, and whether to cut or stall after them.
func (c *proxyConn) decideServer(msg []byte) (n int, cut, stall bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut || c.stalled {
		return 0, false, c.stalled
	}
	if !c.counting {
		if msg[0] == 'Z' {
			c.signedIn = true
		}
		return len(msg), false, false
	}
	f := c.f
	if f.kind == stallAtCommit && c.commitSent {
		c.stalled = true
		c.p.mu.Lock()
		f.fired, f.phase = true, phaseCommitSent
		c.p.mu.Unlock()
		return 0, false, true
	}
	n = len(msg)
	if (f.kind == cutAfterByte || f.kind == stallAfterByte) && c.sbytes+n >= f.k {
		n = f.k - c.sbytes
	}
	start := c.sbytes
	c.sbytes += n
	if n == len(msg) && !c.beginDone && (msg[0] == 'C' || msg[0] == 'Z') {
		// BEGIN's reply ends with its CommandComplete, whether it came
		// alone or at the head of a pipeline.
		c.beginDone = true
		c.beginEnd = c.sbytes
	}
	if n == len(msg) && msg[0] == 'Z' {
		c.readys++
		// COMMIT's reply starts after the ReadyForQuery before it:
		// the last one until COMMIT is sent.
		if !c.commitSent || c.readys == c.commitSyncs-1 {
			c.commitStart = c.sbytes
		}
	}
	done := c.commitSent && c.readys >= c.commitSyncs && n == len(msg) && msg[0] == 'Z'
	c.p.mu.Lock()
	f.rec.replies = append(f.rec.replies, wireMsg{typ: msg[0], start: start, size: len(msg)})
	f.rec.beginEnd, f.rec.commitStart = c.beginEnd, c.commitStart
	if done {
		f.rec.total = c.sbytes
		f.rec.complete = true
	}
	c.p.mu.Unlock()
	switch {
	case f.kind == cutAfterByte && c.sbytes == f.k:
		c.fire(c.phaseNow())
		return n, true, false
	case f.kind == stallAfterByte && c.sbytes == f.k:
		c.stalled = true
		c.p.mu.Lock()
		f.fired, f.phase = true, c.phaseNow()
		c.p.mu.Unlock()
		// Nothing after: the client's messages still reach the server.
		return n, false, true
	}
	if done {
		c.counting = false
	}
	return n, false, false
}

func readStartup(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n < 8 || n > 10000 {
		return nil, fmt.Errorf("startup packet of %d bytes", n)
	}
	pkt := make([]byte, n)
	copy(pkt, hdr[:])
	_, err := io.ReadFull(r, pkt[4:])
	return pkt, err
}

func readMessage(r io.Reader) ([]byte, error) {
	var t [1]byte
	if _, err := io.ReadFull(r, t[:]); err != nil {
		return nil, err
	}
	return readMessageAfter(r, t[0])
}

// readMessageAfter reads the rest of a message whose type byte was read.
func readMessageAfter(r io.Reader, typ byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n < 4 || n > 1<<30 {
		return nil, fmt.Errorf("message %q of length %d", typ, n)
	}
	msg := make([]byte, 1+n)
	msg[0] = typ
	copy(msg[1:5], hdr[:])
	if _, err := io.ReadFull(r, msg[5:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// messageSQL is the SQL of a Query or a Parse message, "" for others.
func messageSQL(msg []byte) string {
	body := msg[5:]
	switch msg[0] {
	case 'Q':
		return cString(body)
	case 'P':
		// The statement's name, then the query.
		i := bytes.IndexByte(body, 0)
		if i < 0 {
			return ""
		}
		return cString(body[i+1:])
	}
	return ""
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// sqlWords is sql in lower case without a trailing semicolon and with runs
// of blanks made one space.
func sqlWords(sql string) string {
	return strings.Join(strings.Fields(strings.ToLower(strings.TrimSuffix(strings.TrimSpace(sql), ";"))), " ")
}

// isBegin recognises an apply's BEGIN: not a read-only transaction.
func isBegin(sql string) bool {
	w := sqlWords(sql)
	if !(w == "begin" || strings.HasPrefix(w, "begin ") || strings.HasPrefix(w, "start transaction")) {
		return false
	}
	return !strings.Contains(w, "read only")
}

func isCommit(sql string) bool {
	w := sqlWords(sql)
	return w == "commit" || w == "end" || w == "commit transaction" || w == "commit work"
}

func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
