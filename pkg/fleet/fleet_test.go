package fleet

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestEachBoundsConcurrencyAndVisitsAll(t *testing.T) {
	const n, parallel = 40, 3
	var running, peak atomic.Int32
	seen := make([]atomic.Int32, n)
	Each(context.Background(), n, parallel, func(ctx context.Context, i int) {
		now := running.Add(1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		seen[i].Add(1)
		running.Add(-1)
	})
	if got := peak.Load(); got > parallel || got < 2 {
		t.Errorf("peak concurrency = %d, want 2..%d", got, parallel)
	}
	for i := range seen {
		if got := seen[i].Load(); got != 1 {
			t.Errorf("item %d ran %d times, want 1", i, got)
		}
	}
}

func TestEachZeroItems(t *testing.T) {
	called := false
	Each(context.Background(), 0, 8, func(context.Context, int) { called = true })
	if called {
		t.Error("fn called for zero items")
	}
}
