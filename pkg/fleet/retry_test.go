package fleet

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errTransient = errors.New("transient")

func isTransient(err error) bool { return errors.Is(err, errTransient) }

func TestRetry(t *testing.T) {
	fast := Backoff{Attempts: 3, First: time.Millisecond, Max: 2 * time.Millisecond}
	tests := map[string]struct {
		failures []error // what each call returns, in order; nil once done
		want     int
		wantErr  error
	}{
		"success at once":              {failures: []error{nil}, want: 1},
		"transient then success":       {failures: []error{errTransient, nil}, want: 2},
		"transient until out of tries": {failures: []error{errTransient, errTransient, errTransient, nil}, want: 3, wantErr: errTransient},
		"permanent is not retried":     {failures: []error{errors.New("permanent"), nil}, want: 1, wantErr: errors.New("permanent")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			calls, retries := 0, 0
			n, err := Retry(context.Background(), fast, isTransient, func(int, error, time.Duration) { retries++ },
				func(context.Context) error {
					e := tc.failures[calls]
					calls++
					return e
				})
			if n != tc.want || calls != tc.want || retries != tc.want-1 {
				t.Errorf("attempts %d, calls %d, retries %d; want %d, %d, %d", n, calls, retries, tc.want, tc.want, tc.want-1)
			}
			if (err == nil) != (tc.wantErr == nil) || (err != nil && err.Error() != tc.wantErr.Error()) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestRetryStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	n, err := Retry(ctx, Backoff{Attempts: 10, First: time.Hour, Max: time.Hour}, isTransient, func(int, error, time.Duration) { cancel() },
		func(context.Context) error { calls++; return errTransient })
	if n != 1 || calls != 1 || !errors.Is(err, errTransient) {
		t.Errorf("attempts %d, calls %d, err %v; want one call ending in the transient error", n, calls, err)
	}
}
