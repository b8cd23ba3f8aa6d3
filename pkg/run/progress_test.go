package main

import (
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	var b strings.Builder
	p := &progress{w: &b, enabled: true}
	p.start("plan", 3)
	p.step(false)
	p.step(true)
	p.clear()
	for _, want := range []string{"plan: 0/3 servers done, 0 failed", "plan: 1/3 servers done, 0 failed", "plan: 2/3 servers done, 1 failed"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("progress output lacks %q: %q", want, b.String())
		}
	}
	if !strings.HasSuffix(b.String(), "\r\x1b[K") {
		t.Errorf("progress line not cleared at the end: %q", b.String())
	}

	var quiet strings.Builder
	q := &progress{w: &quiet, enabled: false}
	q.start("plan", 3)
	q.step(true)
	q.clear()
	if quiet.Len() != 0 {
		t.Errorf("progress off a terminal printed %q", quiet.String())
	}
}
