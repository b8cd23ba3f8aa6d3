package discover

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/armfake"
)

func TestHasAdmin(t *testing.T) {
	s := Server{Admins: []Admin{
		{Name: "alice@contoso.com", Type: AdminUser},
		{Name: "pg-admins", Type: AdminGroup},
		{Name: "pgusers-app", Type: AdminServicePrincipal},
	}}
	for name, want := range map[string]bool{
		"alice@contoso.com": true,
		"pg-admins":         true,
		"pgusers-app":       true,
		"Alice@contoso.com": false,
		"bob@contoso.com":   false,
		"":                  false,
	} {
		if got := s.HasAdmin(name); got != want {
			t.Errorf("HasAdmin(%q) = %v, want %v", name, got, want)
		}
	}
	if (Server{}).HasAdmin("") {
		t.Error("a server without administrators has one")
	}
}

func TestProblems(t *testing.T) {
	ok := Server{Name: "pg-prod-1", State: "Ready", EntraAuth: true, Admins: []Admin{
		{Name: "alice@contoso.com", Type: AdminUser},
		{Name: "pg-admins", Type: AdminGroup},
	}}
	disabled := Server{Name: "pg-dev-1", State: "Ready", PasswordAuth: true, Admins: []Admin{}}
	stopped := ok
	stopped.State = "Stopped"
	dropping := ok
	dropping.State = "Dropping"

	for _, tc := range []struct {
		name string
		s    Server
		user string
		want []string
	}{
		{"admin user", ok, "alice@contoso.com", nil},
		{"admin group", ok, "pg-admins", nil},
		{"not an admin", ok, "bob@contoso.com", []string{
			`"bob@contoso.com" is not one of its Microsoft Entra administrators (alice@contoso.com (user), pg-admins (group)): sign in as one of them, or add it`,
		}},
		{"case", ok, "Alice@contoso.com", []string{
			`"Alice@contoso.com" is not one of its Microsoft Entra administrators (alice@contoso.com (user), pg-admins (group)); "alice@contoso.com" differs only in case, and role names are case-sensitive: sign in as one of them, or add it`,
		}},
		{"no user", ok, "", []string{
			"no sign-in user is given: name one of its Microsoft Entra administrators (alice@contoso.com (user), pg-admins (group))",
		}},
		{"entra disabled", disabled, "alice@contoso.com", []string{
			"Microsoft Entra authentication is disabled (authConfig.activeDirectoryAuth): enable it in the server's authentication settings",
			`"alice@contoso.com" is not one of its Microsoft Entra administrators (it has none): add one in the server's authentication settings`,
		}},
		{"stopped", stopped, "alice@contoso.com", []string{"the server is stopped: start it"}},
		{"dropping", dropping, "alice@contoso.com", []string{"the server is Dropping and cannot be signed in to"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, tc.s.Problems(tc.user)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

// TestProblemsDiscovered: the problems of servers as Discover reads them.
func TestProblemsDiscovered(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet()})
	got, _, err := discover(t, f, Source{Subscription: subA})
	if err != nil {
		t.Fatal(err)
	}
	problems := map[string][]string{}
	for _, s := range got {
		if p := s.Problems("alice@contoso.com"); p != nil {
			problems[s.Name] = p
		}
	}
	none := `"alice@contoso.com" is not one of its Microsoft Entra administrators (it has none): add one in the server's authentication settings`
	disabled := "Microsoft Entra authentication is disabled (authConfig.activeDirectoryAuth): enable it in the server's authentication settings"
	want := map[string][]string{
		"pg-dev-1":  {disabled, none},
		"pg-notags": {"the server is stopped: start it", disabled, none},
	}
	if d := cmp.Diff(want, problems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}
