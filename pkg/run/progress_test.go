package run

import (
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, "plan", 3)
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

	q := newProgress(nil, "plan", 3) // off a terminal: no writer
	q.step(true)
	q.clear()
	if q.printed {
		t.Error("progress without a terminal printed")
	}
}
