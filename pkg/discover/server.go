package discover

import (
	"fmt"
	"strings"
)

// HasAdmin reports whether name, the role a sign-in would use, is one of the
// server's Microsoft Entra administrators. A user, a group (whose members
// sign in with the group's name) or a service principal counts. The match
// is exact: PostgreSQL role names are case-sensitive.
func (s Server) HasAdmin(name string) bool {
	for _, a := range s.Admins {
		if a.Name == name {
			return true
		}
	}
	return false
}

// Problems lists why signing in to the server as user, with a Microsoft
// Entra token, cannot work, as far as ARM tells, so that it can be said
// before any connection is tried: Entra authentication disabled, user not
// one of the Entra administrators, the server stopped or unusable. Each
// problem is a sentence without the server's name. None means nothing
// known stands in the way.
func (s Server) Problems(user string) []string {
	var p []string
	switch s.State {
	case "Stopped", "Stopping":
		p = append(p, fmt.Sprintf("the server is %s: start it", strings.ToLower(s.State)))
	case "Disabled", "Dropping", "Inaccessible", "Provisioning":
		p = append(p, fmt.Sprintf("the server is %s and cannot be signed in to", s.State))
	}
	if !s.EntraAuth {
		p = append(p, "Microsoft Entra authentication is disabled (authConfig.activeDirectoryAuth): enable it in the server's authentication settings")
	}
	switch {
	case user == "":
		p = append(p, "no sign-in user is given: name one of its Microsoft Entra administrators ("+s.adminList()+")")
	case !s.HasAdmin(user):
		msg := fmt.Sprintf("%q is not one of its Microsoft Entra administrators (%s)", user, s.adminList())
		for _, a := range s.Admins {
			if strings.EqualFold(a.Name, user) {
				msg += fmt.Sprintf("; %q differs only in case, and role names are case-sensitive", a.Name)
				break
			}
		}
		if len(s.Admins) == 0 {
			msg += ": add one in the server's authentication settings"
		} else {
			msg += ": sign in as one of them, or add it"
		}
		p = append(p, msg)
	}
	return p
}

// adminList names the administrators and their kinds.
func (s Server) adminList() string {
	if len(s.Admins) == 0 {
		return "it has none"
	}
	var b strings.Builder
	for i, a := range s.Admins {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", a.Name, a.Type)
	}
	return b.String()
}
