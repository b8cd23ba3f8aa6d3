package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/connect"
)

// passwordToken is an Entra credential whose token is the cluster admin's
// password, as a real token is the password on Azure.
type passwordToken struct {
	password string
	calls    atomic.Int32
}

func (p *passwordToken) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	p.calls.Add(1)
	return azcore.AccessToken{Token: p.password, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// BenchmarkFleetPlan50 plans 50 server entries behind a proxy that adds
// 20 ms to every round trip, signed in with Entra (a fake credential), at
// --parallel 1, 8 and 50. Target: wall time within 1.5× of
// ceil(50/parallel) × round trips per server × 20 ms.
func BenchmarkFleetPlan50(b *testing.B) {
	const servers, rtt = 50, 20 * time.Millisecond
	// Azure takes the Entra token as a plain password (over TLS, which this
	// benchmark leaves out): sign in the same way.
	c := pgtest.New(b, pgtest.Options{PlainPassword: true, MaxConnections: 2 * servers})
	proxy := pgtest.StartDelayProxy(b, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), rtt/2, servers)
	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\ndefaults:\n  user: %q\n  sslmode: disable\n  insecureSkipTLSVerify: true\nservers:\n", c.Admin)
	for i := 0; i < servers; i++ {
		fmt.Fprintf(&y, "  - name: s%02d\n    host: 127.0.0.1\n    port: %d\n    principals:\n      - {name: bot-%d, type: service, objectId: %s}\n",
			i, proxy.Port(i), i, pgtest.ObjectID(fmt.Sprint("bot-", i)))
	}
	file := writeFile(b, b.TempDir(), "fleet.yaml", y.String())

	for _, parallel := range []int{1, 8, 50} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			for b.Loop() {
				cred := &passwordToken{password: c.AdminPassword}
				rt := &pgtest.RoundTripCounter{}
				var stderr strings.Builder
				e := env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
				e.connect.Credentials = connect.NewCredentialsWith(cred)
				e.connect.DialFunc = rt.Dial(nil)
				start := time.Now()
				code := runCommand(context.Background(), []string{"plan", "-f", file, "--parallel", strconv.Itoa(parallel), "--detailed-exitcode"}, e)
				wall := time.Since(start)
				if code != exitChanges {
					b.Fatalf("plan exited %d, want 2:\n%s", code, stderr.String())
				}
				perServer := float64(rt.Count()) / servers
				bound := time.Duration(float64((servers+parallel-1)/parallel) * perServer * float64(rtt))
				b.ReportMetric(float64(wall.Milliseconds()), "wall-ms")
				b.ReportMetric(float64(bound.Milliseconds()), "bound-ms")
				b.ReportMetric(wall.Seconds()/bound.Seconds(), "wall/bound")
				b.ReportMetric(perServer, "roundtrips/server")
				b.ReportMetric(float64(e.connect.Credentials.TokenFetches()), "token-fetches")
				b.ReportMetric(float64(cred.calls.Load()), "GetToken-calls")
			}
		})
	}
}
