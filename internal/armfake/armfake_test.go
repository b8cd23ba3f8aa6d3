package armfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	armpg "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/postgresql/armpostgresqlflexibleservers/v5"
	"github.com/google/go-cmp/cmp"
)

const (
	sub = "00000000-0000-0000-0000-00000000000a"
	rg  = "rg-prod"
)

func servers() []Server {
	return []Server{
		{Subscription: sub, ResourceGroup: rg, Name: "pg-1", Tags: map[string]string{"env": "prod"}, Entra: "Enabled", Password: "Enabled",
			Admins: []Admin{
				{Name: "alice@contoso.com", Type: User, ObjectID: "11111111-0000-0000-0000-000000000000"},
				{Name: "pg-admins", Type: Group, ObjectID: "22222222-0000-0000-0000-000000000000"},
				{Name: "pgusers-app", Type: ServicePrincipal, ObjectID: "33333333-0000-0000-0000-000000000000"},
			}},
		{Subscription: sub, ResourceGroup: rg, Name: "pg-2", Entra: "Disabled", State: "Stopped", FQDN: "127.0.0.1", Location: "northeurope", Version: "16"},
		{Subscription: sub, ResourceGroup: "rg-dev", Name: "pg-3"},
	}
}

// get fetches path from the fake as azcore would, with the token.
func get(t *testing.T, f *ARM, url string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+Token)
	resp, err := f.Transport().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// sdkKeeps checks that the SDK's model (models_serde.go) reads every key
// and value of body: decoded into model and encoded again, it is the same
// JSON. A key the SDK does not know would be lost.
func sdkKeeps[M any](t *testing.T, body []byte) M {
	t.Helper()
	var model M
	if err := json.Unmarshal(body, &model); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(model)
	if err != nil {
		t.Fatal(err)
	}
	var sent, kept any
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &kept); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sent, kept); d != "" {
		t.Errorf("the SDK's %T does not read all the fake sends (-sent +read):\n%s", model, d)
	}
	return model
}

// TestWireShapes: every page and administrator list the fake sends reads
// whole into the SDK's models of API 2025-08-01.
func TestWireShapes(t *testing.T) {
	f := Start(t, Options{Servers: servers(), PageSize: 2})
	url := f.URL() + ListPath(sub, "") + "?api-version=" + APIVersion
	var listed []*armpg.Server
	for url != "" {
		status, body := get(t, f, url)
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
		page := sdkKeeps[armpg.ServerList](t, body)
		listed = append(listed, page.Value...)
		url = ""
		if page.NextLink != nil {
			url = *page.NextLink
		}
	}
	if len(listed) != 3 {
		t.Fatalf("%d servers listed, want 3", len(listed))
	}
	s1, s2, s3 := listed[0], listed[1], listed[2]
	if *s1.Properties.AuthConfig.ActiveDirectoryAuth != armpg.MicrosoftEntraAuthEnabled || *s1.Properties.AuthConfig.PasswordAuth != armpg.PasswordBasedAuthEnabled ||
		*s1.Properties.AuthConfig.TenantID != TenantID || *s1.Tags["env"] != "prod" || *s1.Properties.State != armpg.ServerStateReady ||
		*s1.Properties.FullyQualifiedDomainName != "pg-1.postgres.database.azure.com" || *s1.Properties.Version != armpg.PostgresMajorVersion("17") ||
		*s1.Location != "westeurope" || *s1.ID != servers()[0].ID() {
		t.Errorf("pg-1 reads as %s", mustJSON(t, s1))
	}
	if *s2.Properties.AuthConfig.ActiveDirectoryAuth != armpg.MicrosoftEntraAuthDisabled || *s2.Properties.State != armpg.ServerStateStopped ||
		*s2.Properties.FullyQualifiedDomainName != "127.0.0.1" || *s2.Location != "northeurope" || *s2.Properties.Version != armpg.PostgresMajorVersion("16") {
		t.Errorf("pg-2 reads as %s", mustJSON(t, s2))
	}
	if s3.Properties.AuthConfig != nil || s3.Tags != nil {
		t.Errorf("pg-3 reads as %s, want no authConfig and no tags", mustJSON(t, s3))
	}
	if _, err := arm.ParseResourceID(*s3.ID); err != nil {
		t.Errorf("id %s: %v", *s3.ID, err)
	}

	status, body := get(t, f, f.URL()+servers()[0].AdminsPath()+"?api-version="+APIVersion)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	admins := sdkKeeps[armpg.AdministratorMicrosoftEntraList](t, body)
	var got []string
	for _, a := range admins.Value {
		p := a.Properties
		got = append(got, *p.PrincipalName+" "+string(*p.PrincipalType)+" "+*p.ObjectID+" "+*a.Name+" "+*p.TenantID)
	}
	want := []string{
		"alice@contoso.com User 11111111-0000-0000-0000-000000000000 11111111-0000-0000-0000-000000000000 " + TenantID,
		"pg-admins Group 22222222-0000-0000-0000-000000000000 22222222-0000-0000-0000-000000000000 " + TenantID,
		"pgusers-app ServicePrincipal 33333333-0000-0000-0000-000000000000 33333333-0000-0000-0000-000000000000 " + TenantID,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("administrators (-want +got):\n%s", d)
	}
	if string(armpg.PrincipalTypeServicePrincipal) != ServicePrincipal || string(armpg.PrincipalTypeUser) != User ||
		string(armpg.PrincipalTypeGroup) != Group || string(armpg.PrincipalTypeUnknown) != Unknown {
		t.Error("the principal types are not the SDK's")
	}
	if n := f.Requests(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSDKClient: the SDK's own clients, pointed at the fake with Cloud,
// Transport and a Credential, page through it and ask for Scope.
func TestSDKClient(t *testing.T) {
	f := Start(t, Options{Servers: servers(), PageSize: 1, ResourceGroups: []string{sub + "/rg-empty"}, HTTP2: true})
	cred := &Credential{}
	opts := &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: f.Cloud(), Transport: f.Transport(), Retry: Retry()}, DisableRPRegistration: true}
	c, err := armpg.NewServersClient(sub, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	names := func(rg string) []string {
		var out []string
		p := c.NewListByResourceGroupPager(rg, nil)
		for p.More() {
			page, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.Value {
				out = append(out, *s.Name)
			}
		}
		return out
	}
	if d := cmp.Diff([]string{"pg-1", "pg-2"}, names(rg)); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	if got := names("rg-empty"); got != nil {
		t.Errorf("an empty resource group lists %v", got)
	}
	if n := len(f.Hits(ListPath(sub, rg))); n != 2 {
		t.Errorf("%d pages of %s, want 2", n, rg)
	}
	for _, s := range cred.Scopes() {
		if s != Scope {
			t.Errorf("scope %q, want %q", s, Scope)
		}
	}
	if cred.Calls() == 0 {
		t.Error("the credential was not asked")
	}
}

// TestReplies: injected replies come first, once each, then the normal
// answer; the ready-made ones say what ARM says.
func TestReplies(t *testing.T) {
	f := Start(t, Options{Servers: servers()})
	list := ListPath(sub, rg)
	admins := servers()[0].AdminsPath()
	f.Fail(list, Throttled(2*time.Second), AuthorizationFailed(list), InvalidToken())
	f.Fail(admins, AuthorizationFailed(admins), Throttled(1500*time.Millisecond))

	type answer struct {
		Status int
		Header string
		Body   string
	}
	ask := func(path string) answer {
		req, _ := http.NewRequest(http.MethodGet, f.URL()+path+"?api-version="+APIVersion, nil)
		req.Header.Set("Authorization", "Bearer "+Token)
		resp, err := f.Transport().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var v struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(body, &v)
		h := ""
		for _, k := range []string{"Retry-After", "Retry-After-Ms", "WWW-Authenticate"} {
			if x := resp.Header.Get(k); x != "" {
				h = k + ": " + x
			}
		}
		return answer{resp.StatusCode, h, v.Error.Code + ": " + v.Error.Message}
	}
	want := []answer{
		{429, "Retry-After: 2", "TooManyRequests: The request is being throttled."},
		{403, "", "AuthorizationFailed: The client 'alice@contoso.com' with object id '11111111-0000-0000-0000-000000000000' does not have authorization to perform action " +
			"'Microsoft.DBforPostgreSQL/flexibleServers/read' over scope '/subscriptions/" + sub + "/resourceGroups/rg-prod' or the scope is invalid. " +
			"If access was recently granted, please refresh your credentials."},
		{401, `WWW-Authenticate: Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The access token is invalid."`,
			"InvalidAuthenticationToken: The access token is invalid."},
	}
	var got []answer
	for range want {
		got = append(got, ask(list))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("list answers (-want +got):\n%s", d)
	}
	if a := ask(list); a.Status != http.StatusOK {
		t.Errorf("after the replies: %+v", a)
	}
	a1, a2 := ask(admins), ask(admins)
	if !strings.Contains(a1.Body, "'Microsoft.DBforPostgreSQL/flexibleServers/administrators/read' over scope '"+servers()[0].ID()+"'") {
		t.Errorf("administrators denied: %s", a1.Body)
	}
	if a2.Status != 429 || a2.Header != "Retry-After-Ms: 1500" {
		t.Errorf("administrators throttled: %+v", a2)
	}
	if n := len(f.Hits(list)); n != 4 {
		t.Errorf("%d hits of the list, want 4", n)
	}

	for _, tc := range []struct{ path, code string }{
		{ListPath("00000000-0000-0000-0000-0000000000ff", ""), "SubscriptionNotFound"},
		{ListPath(sub, "rg-gone"), "ResourceGroupNotFound"},
		{ListPath(sub, rg) + "/pg-gone/administrators", "ResourceNotFound"},
	} {
		if a := ask(tc.path); a.Status != http.StatusNotFound || !strings.HasPrefix(a.Body, tc.code+": ") {
			t.Errorf("%s: %+v, want 404 %s", tc.path, a, tc.code)
		}
	}
}
