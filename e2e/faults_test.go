package e2e_test

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgusers/pgusers/pkg/inspect"
)

// What the report must say, by outcome (docs/guarantees.md, "What is true
// under faults").
var (
	// A connection lost before COMMIT was sent: nothing was committed.
	saysConnectionLost = regexp.MustCompile(`(?i)connection\b.{0,60}\blost\b|\blost\b.{0,60}\bconnection`)
	saysRolledBack     = regexp.MustCompile(`(?i)rolled back`)
	// After COMMIT was sent, pgusers read the server again and found the
	// old state.
	saysNotApplied = regexp.MustCompile(`(?i)\bnot (been )?applied\b|\bnothing was applied\b`)
	// An error that blames one of the plan's changes, as
	// "apply: create svc-01: unexpected EOF" does.
	blamesAChange = regexp.MustCompile(`(?i)\b(create|grant|revoke|drop|replace) "?(svc|keep|gone)-`)
)

const unknownOutcome = "outcome unknown: plan again"

// sweepJob is one fault of a sweep.
type sweepJob struct {
	kind  faultKind
	k     int
	reset bool // close with RST
}

func (j sweepJob) String() string {
	s := ""
	switch j.kind {
	case cutAfterMessage:
		s = "msg:" + strconv.Itoa(j.k)
	case cutAfterByte:
		s = "byte:" + strconv.Itoa(j.k)
	default:
		s = j.kind.String()
	}
	if j.reset {
		s += "/rst"
	}
	return s
}

func (j sweepJob) sweep() string {
	if j.kind == cutAfterMessage {
		return "message"
	}
	return "byte"
}

// shape is where the phases of the apply's transaction fall in a
// recording.
type shape struct {
	rec         recording
	lockEndMsg  int // the Execute that ends the lock and re-read
	lockEndByte int // the end of its CommandComplete
}

func shapeOf(t testing.TB, rec recording) shape {
	t.Helper()
	if !rec.complete || rec.commitIndex == 0 {
		t.Fatalf("the dry run saw no complete transaction: %d messages, COMMIT at %d, %d bytes", len(rec.messages), rec.commitIndex, rec.total)
	}
	s := shape{rec: rec}
	// apply sends BEGIN, SET LOCAL lock_timeout, the lock, the reset of
	// lock_timeout and the re-read's statements (inspect.Statements) at
	// the head of one pipeline, each as Parse, Bind, Describe, Execute
	// and each answered by a CommandComplete: the lock and re-read end
	// with the Execute, and the CommandComplete, of the last of them.
	head := 4 + len(inspect.Statements())
	executes := 0
	for i, m := range rec.messages {
		if m.typ == 'E' {
			if executes++; executes == head {
				s.lockEndMsg = i + 1
				break
			}
		}
	}
	completes := 0
	for _, m := range rec.replies {
		if m.typ == 'C' {
			if completes++; completes == head {
				s.lockEndByte = m.start + m.size
				break
			}
		}
	}
	if s.lockEndMsg == 0 || s.lockEndByte == 0 {
		t.Fatalf("the dry run's transaction does not start with the %d statements of BEGIN, the lock and the re-read", head)
	}
	return s
}

// phase refines the proxy's phase: the lock and re-read are the first
// part of the pipeline phase.
func (s shape) phase(j sweepJob, proxyPhase string) string {
	if proxyPhase != phasePipeline {
		return proxyPhase
	}
	if j.kind == cutAfterByte && j.k == s.rec.commitStart {
		return phaseAmbiguous
	}
	if (j.kind == cutAfterMessage && j.k <= s.lockEndMsg) || (j.kind == cutAfterByte && j.k < s.lockEndByte) {
		return "lock/re-read"
	}
	return proxyPhase
}

// saidLostAndRetried reports whether stderr says the connection was lost,
// the transaction rolled back and the apply retried.
func saidLostAndRetried(stderr string) bool {
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "retrying") && saysConnectionLost.MatchString(line) && saysRolledBack.MatchString(line) {
			return true
		}
	}
	return false
}

func beforeCommit(phase string) bool {
	return phase == phaseBeforeBeginReply || phase == "lock/re-read" || phase == phasePipeline
}

// byteStride is the sample of the pipeline's replies: a prime, so that
// the cuts fall at every position within the repeating replies of a create
// (BindComplete, RowDescription, DataRow, CommandComplete: 116 bytes) and
// of a grant (ParseComplete, BindComplete, NoData, CommandComplete: about
// 31), 46 of them in the 7 kB of this pipeline's replies. Each cut costs
// about 0.16 s (the faulted apply, the converging apply and plan, the
// reset), and half that on 2 cores with 2 clusters: every byte of the
// 10 kB from BEGIN's reply through COMMIT's would take 13 minutes there
// (PGUSERS_E2E_EXHAUSTIVE=1); the 189 cuts of the bytes sweep take 15 s.
const byteStride = 151

// sweepJobs lays out the sweeps over s.
//
// Messages: every K from 0 (BEGIN not forwarded) through COMMIT, closing
// with FIN and RST in turn; COMMIT itself both ways.
//
// Bytes (of the server's replies, from BEGIN's): every byte of BEGIN's
// reply; the end of every message of the lock and re-read; every
// byteStride-th byte of the pipeline's replies; every byte of the
// pipeline's tail (the releases of its prepared statements and the
// ReadyForQuery before COMMIT) and of COMMIT's reply (CommandComplete
// COMMIT, ReadyForQuery), the latter closing with FIN and with RST. With
// exhaustive, every byte, FIN: an exhaustive run found that a cut in the
// releases was reported as their failure, not as the connection lost.
func sweepJobs(s shape, exhaustive bool) []sweepJob {
	var jobs []sweepJob
	for k := 0; k <= s.rec.commitIndex; k++ {
		jobs = append(jobs, sweepJob{kind: cutAfterMessage, k: k, reset: k%2 == 1})
	}
	jobs = append(jobs, sweepJob{kind: cutAfterMessage, k: s.rec.commitIndex, reset: s.rec.commitIndex%2 == 0})

	bytes := map[int]bool{}
	if exhaustive {
		for k := 0; k <= s.rec.total; k++ {
			bytes[k] = true
		}
	}
	for k := 0; k <= s.rec.beginEnd; k++ {
		bytes[k] = true
	}
	for _, m := range s.rec.replies {
		if end := m.start + m.size; end > s.rec.beginEnd && end <= s.lockEndByte {
			bytes[end] = true
		}
	}
	for k := s.lockEndByte + byteStride; k < s.rec.commitStart; k += byteStride {
		bytes[k] = true
	}
	// The pipeline's tail: the releases of its prepared statements
	// (CloseComplete), the Sync's ReadyForQuery, and COMMIT's reply.
	tail := s.rec.commitStart - 6
	for _, m := range s.rec.replies {
		if m.typ == '3' && m.start < tail {
			tail = m.start
		}
	}
	for k := tail; k <= s.rec.total; k++ {
		bytes[k] = true
	}
	var ks []int
	for k := range bytes {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	for _, k := range ks {
		jobs = append(jobs, sweepJob{kind: cutAfterByte, k: k})
	}
	for k := s.rec.commitStart + 1; k <= s.rec.total; k++ {
		jobs = append(jobs, sweepJob{kind: cutAfterByte, k: k, reset: true})
	}
	if only := os.Getenv("PGUSERS_E2E_FAULT"); only != "" {
		var kept []sweepJob
		for _, j := range jobs {
			if j.String() == only || strings.TrimSuffix(j.String(), "/rst") == only {
				kept = append(kept, j)
			}
		}
		jobs = kept
	}
	return jobs
}

// tally counts the sweeps' faults and outcomes, and groups the problems
// found by kind, each with its count and first example.
type tally struct {
	mu       sync.Mutex
	faults   int
	texts    int                       // faults injected again, for the text view
	outcomes map[string]map[string]int // phase → outcome → count
	sweeps   map[string]map[string]int // sweep → outcome → count
	problems map[string]*problem
	order    []string
	errors   map[string]int // the reports' errors, addresses and numbers blanked
}

var blanks = regexp.MustCompile(`[0-9]+`)

// errorShape is an error with its numbers blanked (ports, names'
// numbers), so that alike errors count as one.
func errorShape(phase, status, msg string) string {
	return fmt.Sprintf("%s: %s: %s", phase, status, blanks.ReplaceAllString(msg, "N"))
}

type problem struct {
	count   int
	jobs    []string
	example string
}

func newTally() *tally {
	return &tally{outcomes: map[string]map[string]int{}, sweeps: map[string]map[string]int{}, problems: map[string]*problem{}, errors: map[string]int{}}
}

func (tl *tally) add(sweep, phase, outcome string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.faults++
	if tl.outcomes[phase] == nil {
		tl.outcomes[phase] = map[string]int{}
	}
	tl.outcomes[phase][outcome]++
	if tl.sweeps[sweep] == nil {
		tl.sweeps[sweep] = map[string]int{}
	}
	tl.sweeps[sweep][outcome]++
}

func (tl *tally) problem(key, job, example string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	p := tl.problems[key]
	if p == nil {
		p = &problem{example: example}
		tl.problems[key] = p
		tl.order = append(tl.order, key)
	}
	p.count++
	if len(p.jobs) < 12 {
		p.jobs = append(p.jobs, job)
	}
}

var phaseOrder = []string{phaseBeforeBeginReply, "lock/re-read", phasePipeline, phaseAmbiguous, phaseCommitSent, phaseCommitReply, "none"}
var outcomeOrder = []string{"applied", "retried, applied", "not applied", "unknown", "other"}

func (tl *tally) table() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d faults injected; %d of them (after COMMIT was sent) again for the text view\n", tl.faults, tl.texts)
	row := func(name string, m map[string]int) {
		fmt.Fprintf(&b, "  %-34s", name)
		for _, o := range outcomeOrder {
			fmt.Fprintf(&b, " %s=%d", o, m[o])
		}
		b.WriteString("\n")
	}
	b.WriteString("by phase:\n")
	for _, p := range phaseOrder {
		if m, ok := tl.outcomes[p]; ok {
			row(p, m)
		}
	}
	b.WriteString("by sweep:\n")
	for _, s := range []string{"message", "byte", "stall"} {
		if m, ok := tl.sweeps[s]; ok {
			row(s, m)
		}
	}
	b.WriteString("what the reports said (phase: status: error, numbers blanked):\n")
	var shapes []string
	for e := range tl.errors {
		shapes = append(shapes, e)
	}
	sort.Strings(shapes)
	for _, e := range shapes {
		fmt.Fprintf(&b, "  %4d × %s\n", tl.errors[e], excerpt(e, 300))
	}
	return b.String()
}

// report fails t once per kind of problem, with its count, the faults
// that showed it, and the first example.
func (tl *tally) report(t *testing.T) {
	t.Helper()
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, key := range tl.order {
		p := tl.problems[key]
		more := ""
		if p.count > len(p.jobs) {
			more = ", ..."
		}
		t.Errorf("%s: %d fault(s) (%s%s); the first:\n%s", key, p.count, strings.Join(p.jobs, " "), more, p.example)
	}
}

// judgement is what one faulted apply came to.
type judgement struct {
	outcome  string
	problems []string // keys; details in detail
	detail   string
}

// phaseAmbiguous is the phase of a cut right after the last byte before
// COMMIT's reply: the client had every reply it needed and may have
// written COMMIT before it saw the connection close, though the proxy
// forwarded none. pgusers cannot tell it from a lost COMMIT reply, so the
// rules of either side hold.
const phaseAmbiguous = "pipeline end (COMMIT maybe sent)"

// judge checks one faulted apply: its report against the server's state,
// which must be exactly the old or the new one. Where the server could be
// reached again (reachable), "unknown" is a misreport: PostgreSQL tells
// whether a transaction committed (pg_xact_status).
func judge(r result, phase string, state, old, new []string, reachable bool) judgement {
	var j judgement
	ambiguous := phase == phaseAmbiguous
	fail := func(key string) { j.problems = append(j.problems, key) }
	isOld, isNew := sameLines(state, old), sameLines(state, new)
	if !isOld && !isNew {
		fail("the server holds neither the old nor the new state")
		j.detail += "server vs old state:\n" + lineDiff(old, state) + "\n"
	}
	if r.took > 20*time.Second {
		fail("the apply took more than 20 s with --timeout 5s")
	}
	sr, err := oneServer(r)
	if err != nil {
		fail("no JSON report: " + err.Error())
		j.outcome = "other"
		return j
	}
	switch sr.Status {
	case "applied":
		j.outcome = "applied"
		if isOld {
			fail(`the report says "applied", the server holds the old state`)
		}
		if r.code != 0 {
			fail(`"applied" with an exit code other than 0`)
		}
		if beforeCommit(phase) {
			// Nothing committed, so pgusers may apply again on a new
			// connection, and must say why on stderr.
			j.outcome = "retried, applied"
			if !saidLostAndRetried(r.stderr) {
				fail(`"applied" after a cut before COMMIT was sent, without saying on stderr that the connection was lost, the transaction rolled back and the apply was retried`)
			}
			if blamesAChange.MatchString(r.stderr) {
				fail("cut before COMMIT was sent: the retry's notice blames one statement")
			}
		}
	case "error":
		j.outcome = "not applied"
		if isNew {
			fail(`the report says "error" (not applied), the server holds the new state`)
		}
		if r.code != 1 {
			fail(`"error" with an exit code other than 1`)
		}
		if ambiguous {
			if !saysNotApplied.MatchString(sr.Error) && !(saysConnectionLost.MatchString(sr.Error) && saysRolledBack.MatchString(sr.Error)) {
				fail("cut at the end of the pipeline: the error says neither that the connection was lost and the transaction rolled back, nor that the plan was not applied")
			}
			if sr.Failed != nil || blamesAChange.MatchString(sr.Error) {
				fail("cut at the end of the pipeline: the error blames one statement")
			}
		} else if beforeCommit(phase) {
			if !saysConnectionLost.MatchString(sr.Error) || !saysRolledBack.MatchString(sr.Error) {
				fail("cut before COMMIT was sent: the error does not say the connection was lost and the transaction rolled back")
			}
			if sr.Failed != nil || blamesAChange.MatchString(sr.Error) {
				fail("cut before COMMIT was sent: the error blames one statement")
			}
		} else if isOld && !saysNotApplied.MatchString(sr.Error) {
			fail("cut after COMMIT was sent, old state found: the error does not say the plan was not applied")
		}
	case "unknown":
		j.outcome = "unknown"
		if beforeCommit(phase) {
			fail(`"unknown" for a cut before COMMIT was sent`)
		}
		if reachable {
			fail(`"unknown" though the server could be reached again to ask what became of the transaction`)
		}
		if sr.ErrorKind != "unknown-outcome" || !strings.Contains(sr.Error, unknownOutcome) {
			fail(`"unknown" without errorKind "unknown-outcome" and "` + unknownOutcome + `"`)
		}
		if r.code != 1 {
			fail(`"unknown" with an exit code other than 1`)
		}
	default:
		j.outcome = "other"
		fail(fmt.Sprintf("status %q", sr.Status))
	}
	return j
}

// excerpt shortens a run's output for a problem's example.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("\n  ... (%d more bytes)", len(s)-n)
}

// brief is a run's exit code, what its JSON report says of the server
// (not the plan's changes) and its stderr.
func brief(r result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  pgusers %s\n  → exit %d after %v\n", strings.Join(r.args, " "), r.code, r.took.Round(time.Millisecond))
	if sr, err := oneServer(r); err != nil {
		fmt.Fprintf(&b, "  %v; stdout:\n%s\n", err, indentText(excerpt(r.stdout, 1500)))
	} else {
		fmt.Fprintf(&b, "  JSON: status %q, errorKind %q, error %q\n", sr.Status, sr.ErrorKind, sr.Error)
		if sr.Failed != nil {
			fmt.Fprintf(&b, "  JSON failed: %s %s: %s: %s\n", sr.Failed.Action, sr.Failed.Principal, sr.Failed.SQL, sr.Failed.Error)
		}
	}
	fmt.Fprintf(&b, "  stderr:\n%s", indentText(excerpt(r.stderr, 1500)))
	return b.String()
}

// faulted runs the apply through w's proxy with f armed, and returns the
// run, the fault as it fired, and the server's state once the apply's
// sessions are gone.
func (w *world) faulted(t testing.TB, f *fault) (result, fault, []string) {
	t.Helper()
	w.p.arm(f)
	r := w.r.run(t, "apply", "-f", w.viaProxy, "--auto-approve", "--output", "json", "--timeout", "5s")
	fired := w.p.result()
	w.p.arm(nil)
	w.s.settle(t)
	return r, fired, w.s.state(t)
}

// converge applies again without a fault and checks that the plan is in
// sync after it; it returns the problems found.
func (w *world) converge(t testing.TB) (problems []string, detail string) {
	t.Helper()
	r := w.r.run(t, "apply", "-f", w.direct, "--auto-approve", "--output", "json")
	if r.code != 0 {
		return []string{"the apply after the fault does not converge"}, r.String()
	}
	if p, ok := w.r.planEmpty(t, "-f", w.direct); !ok {
		return []string{"plan --detailed-exitcode after the converging apply is not 0"}, p.String()
	}
	if got := w.s.state(t); !sameLines(got, w.new) {
		return []string{"the converging apply left the server other than the new state"}, lineDiff(w.new, got)
	}
	return nil, ""
}

// record makes the dry run: the apply through the proxy with nothing
// injected, which must apply, and what it carried.
func (w *world) record(t testing.TB) shape {
	t.Helper()
	r, f, state := w.faulted(t, &fault{kind: faultRecord})
	sr, err := oneServer(r)
	if err != nil || sr.Status != "applied" || !sameLines(state, w.new) {
		t.Fatalf("the dry run through the proxy did not apply (%v):\n%s", err, r)
	}
	w.reset(t)
	return shapeOf(t, f.rec)
}

// workers is how many clusters a sweep runs on at once: one per core, at
// least 2 and at most 4. On 2 cores, 2 take 42 s where 1 takes 77 s and 3
// take 52 s.
func workers() int {
	if n, err := strconv.Atoi(os.Getenv("PGUSERS_E2E_WORKERS")); err == nil && n > 0 {
		return n
	}
	return max(2, min(runtime.NumCPU(), 4))
}

// TestApplyTellsTheTruthUnderCuts cuts the apply's connection after every
// message it sends from BEGIN through COMMIT, and after chosen bytes of the
// server's replies through COMMIT's (every byte with
// PGUSERS_E2E_EXHAUSTIVE=1). After each cut the server must hold exactly
// the old or the new state, the report must say which (or "unknown", only
// once COMMIT was sent), an apply without the fault must converge, and the
// server is put back to the old state for the next cut.
func TestApplyTellsTheTruthUnderCuts(t *testing.T) {
	start := time.Now()
	w0 := newWorld(t)
	sh := w0.record(t)
	exhaustive := os.Getenv("PGUSERS_E2E_EXHAUSTIVE") == "1"
	jobs := sweepJobs(sh, exhaustive)
	t.Logf("dry run: %d changes; %d client messages from BEGIN through COMMIT (lock and re-read through message %d, COMMIT is %d); "+
		"%d bytes of replies (BEGIN's end at %d, the lock and re-read's at %d, COMMIT's reply from %d); %d faults to inject (exhaustive: %v)",
		worldChanges, sh.rec.commitIndex, sh.lockEndMsg, sh.rec.commitIndex, sh.rec.total, sh.rec.beginEnd, sh.lockEndByte, sh.rec.commitStart, len(jobs), exhaustive)

	queue := make(chan sweepJob, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	tl := newTally()
	n := min(workers(), len(jobs))
	t.Run("sweep", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprintf("worker-%d", i), func(t *testing.T) {
				t.Parallel()
				w := w0
				if i > 0 {
					began := time.Now()
					w = newWorld(t)
					t.Logf("a fresh cluster with the old state took %v (a reset between faults takes about 20 ms)", time.Since(began).Round(time.Millisecond))
					if got := w.record(t); got.rec.total != sh.rec.total || got.rec.commitIndex != sh.rec.commitIndex {
						t.Fatalf("this worker's dry run differs: %d messages and %d bytes, want %d and %d",
							got.rec.commitIndex, got.rec.total, sh.rec.commitIndex, sh.rec.total)
					}
				}
				for j := range queue {
					runJob(t, w, sh, j, tl)
				}
			})
		}
	})
	t.Logf("sweeps took %v on %d cluster(s)\n%s", time.Since(start).Round(time.Millisecond), n, tl.table())
	tl.report(t)
}

// runJob injects one fault, judges the outcome, converges and resets.
func runJob(t testing.TB, w *world, sh shape, j sweepJob, tl *tally) {
	t.Helper()
	r, f, state := w.faulted(t, &fault{kind: j.kind, k: j.k, reset: j.reset})
	phase := "none"
	if f.fired {
		phase = sh.phase(j, f.phase)
	}
	judged := judge(r, phase, state, w.old, w.new, true)
	tl.add(j.sweep(), phase, judged.outcome)
	if sr, err := oneServer(r); err == nil {
		tl.mu.Lock()
		tl.errors[errorShape(phase, sr.Status, sr.Error)]++
		tl.mu.Unlock()
	}
	example := func(detail string) string {
		return fmt.Sprintf("  fault %s, phase %s, outcome %s\n%s%s", j, phase, judged.outcome, detail, brief(r))
	}
	if !f.fired {
		tl.problem("the fault did not fire (the apply's traffic differs from the dry run's)", j.String(), example(""))
	}
	if (j.kind == cutAfterByte && j.k > sh.rec.commitStart) && phase != phaseCommitReply {
		tl.problem("a cut in COMMIT's reply fired in another phase (the traffic differs from the dry run's)", j.String(), example(""))
	}
	for _, key := range judged.problems {
		tl.problem(key, j.String(), example(judged.detail))
	}
	problems, detail := w.converge(t)
	for _, key := range problems {
		tl.problem(key, j.String(), example(detail+"\n"))
	}
	w.reset(t)
	if f.fired && !beforeCommit(phase) {
		// After COMMIT was sent the outcome is the one PostgreSQL gives:
		// the text view must say the same as the server holds too.
		judgeText(t, w, j, tl)
	}
}

// judgeText injects fault j again with the text output, and checks the
// apply's line against the server: "applied" exactly when it holds the
// new state, "failed, nothing changed there" exactly when it holds the
// old one, never "outcome unknown" (the server can be reached again).
func judgeText(t testing.TB, w *world, j sweepJob, tl *tally) {
	t.Helper()
	tl.mu.Lock()
	tl.texts++
	tl.mu.Unlock()
	w.p.arm(&fault{kind: j.kind, k: j.k, reset: j.reset})
	r := w.r.run(t, "apply", "-f", w.viaProxy, "--auto-approve", "--timeout", "5s")
	w.p.arm(nil)
	w.s.settle(t)
	state := w.s.state(t)
	line := ""
	if m := applyLine.FindStringSubmatch(r.stdout); m != nil {
		line = m[1]
	}
	applied := strings.HasPrefix(line, "applied")
	switch {
	case applied && !sameLines(state, w.new), line == "failed, nothing changed there" && !sameLines(state, w.old),
		!applied && line != "failed, nothing changed there":
		tl.problem("the text view says other than the server holds", j.String(),
			fmt.Sprintf("  fault %s: text %q, the server holds the new state: %v\n%s", j, line, sameLines(state, w.new), brief(r)))
	}
	if problems, detail := w.converge(t); problems != nil {
		tl.problem(problems[0], j.String(), detail)
	}
	w.reset(t)
}
