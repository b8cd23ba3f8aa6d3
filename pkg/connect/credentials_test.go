package connect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/go-cmp/cmp"
)

func TestFresh(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := map[string]struct {
		tok  azcore.AccessToken
		want bool
	}{
		"no token":                 {azcore.AccessToken{}, false},
		"no expiry":                {azcore.AccessToken{Token: "t"}, false},
		"an hour to live":          {azcore.AccessToken{Token: "t", ExpiresOn: now.Add(time.Hour)}, true},
		"six minutes to live":      {azcore.AccessToken{Token: "t", ExpiresOn: now.Add(6 * time.Minute)}, true},
		"five minutes to live":     {azcore.AccessToken{Token: "t", ExpiresOn: now.Add(5 * time.Minute)}, false},
		"expired":                  {azcore.AccessToken{Token: "t", ExpiresOn: now.Add(-time.Minute)}, false},
		"refresh time not reached": {azcore.AccessToken{Token: "t", ExpiresOn: now.Add(24 * time.Hour), RefreshOn: now.Add(time.Minute)}, true},
		"refresh time reached":     {azcore.AccessToken{Token: "t", ExpiresOn: now.Add(24 * time.Hour), RefreshOn: now}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := fresh(tc.tok, now); got != tc.want {
				t.Errorf("fresh = %v, want %v", got, tc.want)
			}
		})
	}
}

// The token of a credential is fetched again once it has less than five
// minutes to live, and not before.
func TestCredentialsTokenLife(t *testing.T) {
	clock := newFakeClock()
	fake := &fakeCredential{token: "one", now: clock.now}
	creds := NewCredentialsWith(fake)
	creds.now = clock.now
	key := sourceKey{kind: CredentialDefault, cloud: "public"}
	ctx := context.Background()

	get := func() string {
		t.Helper()
		tok, err := creds.token(ctx, key, clouds[0])
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	var got []string
	got = append(got, get())
	fake.set("two")
	clock.advance(54 * time.Minute)
	got = append(got, get())
	clock.advance(2 * time.Minute) // 4 minutes left
	got = append(got, get())
	got = append(got, get())

	if diff := cmp.Diff([]string{"one", "one", "two", "two"}, got); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	calls, scopes := fake.asked()
	if calls != 2 || creds.TokenFetches() != 2 {
		t.Errorf("GetToken called %d times, TokenFetches %d; want 2 and 2", calls, creds.TokenFetches())
	}
	want := []string{"https://ossrdbms-aad.database.windows.net/.default", "https://ossrdbms-aad.database.windows.net/.default"}
	if diff := cmp.Diff(want, scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
}

// Servers connecting at once share one fetch: one per credential and cloud.
func TestCredentialsOneFetchForConcurrentConnections(t *testing.T) {
	fake := &fakeCredential{token: "shared", delay: 50 * time.Millisecond}
	creds := NewCredentialsWith(fake)
	keys := []sourceKey{
		{kind: CredentialDefault, cloud: "public"},
		{kind: CredentialDefault, cloud: "china"},
		{kind: CredentialManagedIdentity, clientID: "c1", cloud: "public"},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		key := keys[i%len(keys)]
		cl, _ := cloudOf("", key.cloud)
		wg.Go(func() {
			tok, err := creds.token(context.Background(), key, cl)
			if err == nil && tok != "shared" {
				err = fmt.Errorf("token %q", tok)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := creds.TokenFetches(); got != len(keys) {
		t.Errorf("TokenFetches = %d, want %d (one per credential and cloud)", got, len(keys))
	}
	_, scopes := fake.asked()
	seen := map[string]int{}
	for _, s := range scopes {
		seen[s]++
	}
	want := map[string]int{
		"https://ossrdbms-aad.database.windows.net/.default":      2,
		"https://ossrdbms-aad.database.chinacloudapi.cn/.default": 1,
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("scopes asked (-want +got):\n%s", diff)
	}
}

// A failure is not cached: the next connection asks again.
func TestCredentialsFailureIsNotCached(t *testing.T) {
	fake := &fakeCredential{err: errors.New("AzureCLICredential: ERROR: Please run 'az login' to setup account.")}
	creds := NewCredentialsWith(fake)
	key := sourceKey{kind: CredentialAzureCLI, cloud: "public"}
	for range 2 {
		if _, err := creds.token(context.Background(), key, clouds[0]); err == nil {
			t.Fatal("no error")
		}
	}
	if calls, _ := fake.asked(); calls != 2 {
		t.Errorf("GetToken called %d times, want 2", calls)
	}
}

// A connection waiting for another's fetch gives up when its context ends.
func TestCredentialsWaitEndsWithContext(t *testing.T) {
	fake := &fakeCredential{token: "slow", delay: time.Minute}
	creds := NewCredentialsWith(fake)
	key := sourceKey{kind: CredentialDefault, cloud: "public"}
	first, cancelFirst := context.WithCancel(context.Background())
	defer cancelFirst()
	go creds.token(first, key, clouds[0])
	for calls, _ := fake.asked(); calls == 0; calls, _ = fake.asked() {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := creds.token(ctx, key, clouds[0]); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
}

// Each credential kind is made with its azidentity constructor.
func TestNewCredentialKinds(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("assertion"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AZURE_TENANT_ID":            "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"AZURE_CLIENT_ID":            "2b7c1d0e-5f4a-4b3c-8d2e-1f0a9b8c7d6e",
		"AZURE_FEDERATED_TOKEN_FILE": tokenFile,
	}
	// EnvironmentCredential reads the process environment only.
	t.Setenv("AZURE_TENANT_ID", env["AZURE_TENANT_ID"])
	t.Setenv("AZURE_CLIENT_ID", env["AZURE_CLIENT_ID"])
	t.Setenv("AZURE_CLIENT_SECRET", "not-a-real-secret")
	creds := NewCredentials(func(k string) string { return env[k] })

	tests := map[string]struct {
		kind, clientID, cloud string
		want                  string
	}{
		"default":                         {kind: CredentialDefault, want: "*azidentity.DefaultAzureCredential"},
		"azurecli":                        {kind: CredentialAzureCLI, want: "*azidentity.AzureCLICredential"},
		"managedidentity":                 {kind: CredentialManagedIdentity, want: "*azidentity.ManagedIdentityCredential"},
		"managedidentity, user-assigned":  {kind: CredentialManagedIdentity, clientID: "6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90", want: "*azidentity.ManagedIdentityCredential"},
		"workloadidentity":                {kind: CredentialWorkloadIdentity, want: "*azidentity.WorkloadIdentityCredential"},
		"workloadidentity, us government": {kind: CredentialWorkloadIdentity, cloud: "usgovernment", want: "*azidentity.WorkloadIdentityCredential"},
		"environment":                     {kind: CredentialEnvironment, want: "*azidentity.EnvironmentCredential"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cl, err := cloudOf("", tc.cloud)
			if err != nil {
				t.Fatal(err)
			}
			key, err := credentialKey(tc.kind, tc.clientID, cl)
			if err != nil {
				t.Fatal(err)
			}
			c, err := creds.newCredential(key, cl)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", c); got != tc.want {
				t.Errorf("credential %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCredentialKey(t *testing.T) {
	tests := map[string]struct {
		kind, clientID string
		want           sourceKey
		wantErr        string
	}{
		"empty is default": {kind: "", want: sourceKey{kind: "default", cloud: "public"}},
		"managed identity with client id": {kind: "managedidentity", clientID: "c",
			want: sourceKey{kind: "managedidentity", clientID: "c", cloud: "public"}},
		"workload identity with client id": {kind: "workloadidentity", clientID: "c",
			want: sourceKey{kind: "workloadidentity", clientID: "c", cloud: "public"}},
		"unknown": {kind: "interactive",
			wantErr: `unknown credential "interactive": use default, azurecli, managedidentity, workloadidentity or environment`},
		"client id with azurecli": {kind: "azurecli", clientID: "c",
			wantErr: "clientId is for credential managedidentity or workloadidentity, not azurecli (the default credential reads AZURE_CLIENT_ID)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := credentialKey(tc.kind, tc.clientID, clouds[0])
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, gotErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(sourceKey{})); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
		})
	}
}
