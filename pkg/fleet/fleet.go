package fleet

import (
	"context"
	"sync"
)

// Each calls fn(ctx, i) for every i in [0, n), at most parallel at a time
// (at least one). It returns when every call has returned. Calls not yet
// started when ctx is done are still made, so that each can report its
// server as cancelled; fn must check ctx.
func Each(ctx context.Context, n, parallel int, fn func(ctx context.Context, i int)) {
	if parallel < 1 {
		parallel = 1
	}
	if parallel > n {
		parallel = n
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < parallel; w++ {
		wg.Go(func() {
			for i := range next {
				fn(ctx, i)
			}
		})
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
