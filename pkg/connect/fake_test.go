package connect

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// fakeCredential stands for an azidentity credential: it gives the token it
// is set to, valid for life, and records what it is asked.
type fakeCredential struct {
	mu     sync.Mutex
	token  string
	life   time.Duration // 0: an hour
	err    error
	delay  time.Duration
	now    func() time.Time // nil: time.Now
	calls  int
	scopes []string
}

func (f *fakeCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	f.calls++
	f.scopes = append(f.scopes, opts.Scopes...)
	token, life, err, delay, now := f.token, f.life, f.err, f.delay, f.now
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return azcore.AccessToken{}, ctx.Err()
		}
	}
	if err != nil {
		return azcore.AccessToken{}, err
	}
	if len(opts.Scopes) != 1 {
		return azcore.AccessToken{}, fmt.Errorf("fake: want one scope, got %q", opts.Scopes)
	}
	if life == 0 {
		life = time.Hour
	}
	if now == nil {
		now = time.Now
	}
	return azcore.AccessToken{Token: token, ExpiresOn: now().Add(life)}, nil
}

func (f *fakeCredential) set(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.token = token
}

func (f *fakeCredential) asked() (calls int, scopes []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, append([]string(nil), f.scopes...)
}

// fakeClock is a settable clock for Credentials and the fake.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
