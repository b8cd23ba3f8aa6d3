package main

import (
	"fmt"
	"io"
	"sync"
)

// progress shows on a terminal how far a fleet run is: servers done out of
// the total, and failures so far, on one line rewritten in place. Off a
// terminal it prints nothing, so that CI logs and redirected stderr stay
// clean.
type progress struct {
	w       io.Writer
	enabled bool

	mu      sync.Mutex
	phase   string
	total   int
	done    int
	failed  int
	printed bool
}

func (p *progress) start(phase string, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.total, p.done, p.failed = phase, total, 0, 0
	p.draw()
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
	if !p.enabled || p.total < 2 {
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
