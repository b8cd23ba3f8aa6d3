package fleet

import (
	"context"
	"time"
)

// Backoff bounds how often and how patiently a transient failure is retried.
type Backoff struct {
	// Attempts is the total number of tries, the first included.
	Attempts int
	// First is the wait after the first failure; each later wait doubles.
	First time.Duration
	// Max caps one wait.
	Max time.Duration
}

// DefaultBackoff retries twice: after 200 ms, then after 400 ms.
var DefaultBackoff = Backoff{Attempts: 3, First: 200 * time.Millisecond, Max: 5 * time.Second}

// Retry calls fn until it succeeds, fails with an error transient does not
// accept, runs out of attempts, or ctx ends. It returns fn's last error and
// how many times fn ran. onRetry, when set, hears of each retry before its
// wait.
func Retry(ctx context.Context, b Backoff, transient func(error) bool, onRetry func(attempt int, err error, wait time.Duration),
	fn func(ctx context.Context) error) (int, error) {
	wait := b.First
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || attempt >= b.Attempts || !transient(err) || ctx.Err() != nil {
			return attempt, err
		}
		if onRetry != nil {
			onRetry(attempt, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, err
		case <-t.C:
		}
		wait = min(2*wait, b.Max)
	}
}
