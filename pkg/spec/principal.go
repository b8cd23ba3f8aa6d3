package spec

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

var principalKeys = []string{"name", "type", "objectId", "admin", "mfa", "memberOf", "renamedFrom"}

// principals decodes a list of principals (decodeEach).
func (d *decoder) principals(n *yaml.Node, sc scope, what string) []Principal {
	return decodeEach(d, n, sc, what, func(item *yaml.Node) (Principal, bool) { return d.principal(item, sc) })
}

func (d *decoder) principal(n *yaml.Node, sc scope) (Principal, bool) {
	n = d.resolve(n)
	if n == nil {
		return Principal{}, false
	}
	pairs, ok := d.mapping(n, scope{server: sc.server, set: sc.set, principal: peekName(n)}, "a principal")
	if !ok {
		return Principal{}, false
	}
	p := Principal{Set: sc.set, Pos: d.pos(n)}

	// The name goes first, so that every other message can say whose it is.
	named := false
	for _, kv := range pairs {
		if kv.key == "name" {
			p.Name, named = d.principalName(kv.v, sc)
			if named {
				sc.principal = p.Name
			}
		}
	}
	typed := false
	for _, kv := range pairs {
		switch kv.key {
		case "name":
		case "type":
			typed = true
			if s, ok := d.str(kv.v, sc, "type"); ok {
				switch t := PrincipalType(s); t {
				case User, Group, Service:
					p.Type = t
				default:
					d.errorf(kv.v, sc, "type %q is not one of user, group, service%s", s, didYouMean(s, []string{"user", "group", "service"}))
				}
			}
		case "objectId":
			if s, ok := d.str(kv.v, sc, "objectId"); ok {
				if msg := checkUUID("objectId", s); msg != "" {
					d.errorf(kv.v, sc, "%s", msg)
				} else {
					p.ObjectID = strings.ToLower(s)
				}
			}
		case "admin":
			p.Admin, _ = d.boolean(kv.v, sc, "admin")
		case "mfa":
			p.MFA, _ = d.boolean(kv.v, sc, "mfa")
		case "memberOf":
			p.ManageMemberships = true
			p.MemberOf = d.memberOf(kv.v, sc, p.Name, "principal")
		case "renamedFrom":
			if s, ok := d.str(kv.v, sc, "renamedFrom"); ok {
				switch msg := checkRoleName("renamedFrom", s); {
				case msg != "":
					d.errorf(kv.v, sc, "%s", msg)
				case s == p.Name:
					d.errorf(kv.v, sc, "renamedFrom is the principal's own name; remove it, or name the role as it was called before")
				default:
					p.RenamedFrom = s
				}
			}
		default:
			d.unknownKey(kv, sc, "a principal", principalKeys)
		}
	}
	if p.RenamedFrom != "" && p.ObjectID == "" && !hasKey(pairs, "objectId") {
		d.errorf(n, sc, "renamedFrom needs objectId: the object id is what proves that %s and %s are one Entra principal", p.RenamedFrom, p.Name)
	}
	if !named && !hasKey(pairs, "name") {
		d.errorf(n, sc, "name is required: the role name of the principal")
	}
	if !typed {
		d.errorf(n, sc, "type is required: user, group or service")
	}
	return p, named
}

func (d *decoder) principalName(n *yaml.Node, sc scope) (string, bool) {
	s, ok := d.str(n, sc, "name")
	if !ok {
		return "", false
	}
	msg := checkRoleName("name", s)
	if msg == "" {
		msg = checkReserved("name", s)
	}
	if msg != "" {
		d.errorf(n, sc, "%s", msg)
		return "", false
	}
	return s, true
}

// memberOf returns the roles, sorted and without duplicates; nil for none.
// self is the name of the principal or role (owner) that says memberOf.
func (d *decoder) memberOf(n *yaml.Node, sc scope, self, owner string) []string {
	if r := d.resolve(n); r != nil && isNull(r) {
		d.errorf(r, sc, "memberOf has no value; write memberOf: [] for no memberships, or remove the key to leave memberships alone")
		return nil
	}
	items, _ := d.sequence(n, sc, "memberOf")
	var out []string
	for _, item := range items {
		role, ok := d.str(item, sc, "a memberOf role")
		if !ok {
			continue
		}
		switch {
		case checkRoleName("a memberOf role", role) != "":
			d.errorf(item, sc, "%s", checkRoleName("a memberOf role", role))
		case role == AdminRole && owner == "principal":
			d.errorf(item, sc, "memberOf cannot list azure_pg_admin: the admin flag owns that membership; set admin: true instead")
		case role == AdminRole:
			d.errorf(item, sc, "memberOf cannot list azure_pg_admin: only Entra administrators belong to it, through a principal's admin: true")
		case self != "" && role == self:
			d.errorf(item, sc, "memberOf lists the %s itself; a role cannot be a member of itself", owner)
		default:
			out = append(out, role)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func hasKey(pairs []pair, key string) bool {
	for _, p := range pairs {
		if p.key == key {
			return true
		}
	}
	return false
}

// checkRoleName says what is wrong with a role name, or "" when nothing is.
func checkRoleName(what, name string) string {
	switch {
	case name == "":
		return what + " is empty"
	case strings.ContainsRune(name, 0):
		return what + " contains a NUL byte, which PostgreSQL does not allow in a name"
	case strings.ContainsFunc(name, unicode.IsControl):
		// No Entra name holds one, and a line break in a role name makes
		// every script and log that shows it ambiguous.
		return errorMsg("%s %q contains a control character (a line break, a tab, ...); Entra names have none", what, name)
	case len(name) > MaxNameBytes:
		return fmt.Sprintf("%s %s is %d bytes; PostgreSQL silently truncates names over %d bytes, so use a shorter one",
			what, quotePrefix(name), len(name), MaxNameBytes)
	}
	return ""
}

// checkReserved says why a role that what names (a principal's or group
// role's name, or a grant's to) cannot be pgusers' to manage, or "".
func checkReserved(what, name string) string {
	switch {
	case !Reserved(name):
		return ""
	case strings.HasPrefix(name, "pg_"):
		return errorMsg("%s %q is reserved: PostgreSQL keeps every pg_* role for itself", what, name)
	case what == "to":
		return errorMsg("to %q is a reserved role that Azure manages; pgusers never changes its privileges", name)
	}
	return errorMsg("%s %q is a reserved role that Azure manages; pgusers never creates or drops it", what, name)
}

// checkUUID accepts only the 8-4-4-4-12 form that Entra and the Azure
// portal show, without braces or a urn: prefix.
func checkUUID(what, s string) string {
	if !isUUID(s) {
		return errorMsg("%s %q is not a UUID (want 8-4-4-4-12 hex digits)", what, s)
	}
	if strings.Trim(s, "0-") == "" {
		return fmt.Sprintf("%s is the nil UUID, a placeholder; use the real object id or remove the key", what)
	}
	return ""
}

// isUUID reports whether s is 8-4-4-4-12 hex digits. It allocates
// nothing: every principal's objectId goes through it.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// didYouMean is a suffix for "not one of ..." messages.
func didYouMean(got string, options []string) string {
	if s := suggest(got, options); s != "" {
		return errorMsg("; did you mean %q?", s)
	}
	return ""
}
