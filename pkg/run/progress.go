package run

import (
	"fmt"
	"io"
	"sync"
)

// progress shows on a terminal how far a fleet run is: servers done out of
// the total, and failures so far, on one line rewritten in place. Without
// a writer (stderr is not a terminal) it prints nothing, so that CI logs
// and redirected stderr stay clean.
type progress struct {
	w io.Writer

	mu      sync.Mutex
	phase   string
	total   int
	done    int
	failed  int
	printed bool
}

func newProgress(w io.Writer, phase string, total int) *progress {
	p := &progress{w: w, phase: phase, total: total}
	p.draw()
	return p
}

// step records one server finished.
func (p *progress) step(failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if failed {
		p.failed++
	}
	p.draw()
}

func (p *progress) draw() {
	if p.w == nil || p.total < 2 {
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s: %d/%d servers done, %d failed", p.phase, p.done, p.total, p.failed)
	p.printed = true
}

// clear removes the progress line before the run prints its results.
func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.printed {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.printed = false
	}
}
