package spec

import (
	"path"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// settingKeys are the keys that defaults and servers share, as
// docs/file-format.md ("Settings: defaults and servers") lists them.
var settingKeys = []string{
	"database", "user", "auth", "credential", "clientId", "passwordEnv", "sslmode", "sslrootcert",
	"cloud", "port", "prune", "protect", "maxDrops", "reassignOwnedTo", "insecureSkipTLSVerify", "pruneSyncedUsers",
	"directory",
}

var (
	authModes   = []string{string(AuthEntra), string(AuthPassword)}
	credentials = []string{"default", "azurecli", "managedidentity", "workloadidentity", "environment"}
	sslModes    = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
	clouds      = []string{"public", "usgovernment", "china"}
	directories = []string{DirectoryNone, DirectoryGraph}
)

// setting is one key of defaults or of a server, as written.
type setting struct {
	pos  Position // of the key: "set twice" errors point at it
	str  string
	num  int
	flag bool
	list []string
	// bad means the value was refused (an error says why); rules that
	// combine keys skip it rather than pile a second error on it.
	bad bool
}

// settings are the keys a defaults section or a server sets.
type settings map[string]*setting

func (s settings) str(key string) (string, bool) {
	if v, ok := s[key]; ok && !v.bad {
		return v.str, true
	}
	return "", false
}

// setting decodes one shared key into s; false means key is not one.
func (d *decoder) setting(s settings, kv pair, sc scope) bool {
	v := &setting{pos: d.pos(kv.k)}
	ok := true
	switch kv.key {
	case "database", "user", "reassignOwnedTo":
		v.str, ok = d.str(kv.v, sc, kv.key)
		if ok {
			if msg := checkRoleName(kv.key, v.str); msg != "" {
				d.errorf(kv.v, sc, "%s", msg)
				ok = false
			}
		}
	case "auth":
		v.str, ok = d.enum(kv.v, sc, kv.key, authModes)
	case "credential":
		v.str, ok = d.enum(kv.v, sc, kv.key, credentials)
	case "sslmode":
		v.str, ok = d.enum(kv.v, sc, kv.key, sslModes)
	case "directory":
		v.str, ok = d.enum(kv.v, sc, kv.key, directories)
	case "cloud":
		if r := d.resolve(kv.v); r != nil && r.Kind == yaml.ScalarNode && r.ShortTag() == "!!str" && r.Value == "" {
			break // "" asks, like omitting the key, for the cloud of the host name
		}
		v.str, ok = d.enum(kv.v, sc, kv.key, clouds)
	case "clientId":
		v.str, ok = d.str(kv.v, sc, kv.key)
		if ok {
			if msg := checkUUID("clientId", v.str); msg != "" {
				d.errorf(kv.v, sc, "%s", msg)
				ok = false
			}
			v.str = strings.ToLower(v.str)
		}
	case "passwordEnv":
		v.str, ok = d.str(kv.v, sc, kv.key)
		if ok && !isEnvName(v.str) {
			d.errorf(kv.v, sc, "passwordEnv %q is not an environment variable name (letters, digits and _, not starting with a digit)", v.str)
			ok = false
		}
	case "sslrootcert":
		v.str, ok = d.str(kv.v, sc, kv.key)
		switch {
		case ok && v.str == "":
			d.errorf(kv.v, sc, "sslrootcert is empty; name a CA file or remove the key to use the system roots")
			ok = false
		case ok && !filepath.IsAbs(v.str):
			// Relative to the file, so the files can be run from anywhere.
			v.str = filepath.Join(filepath.Dir(d.file), v.str)
		}
	case "port":
		v.num, ok = d.integer(kv.v, sc, kv.key)
		if ok && (v.num < 1 || v.num > 65535) {
			d.errorf(kv.v, sc, "port %d is out of range (want 1 to 65535)", v.num)
			ok = false
		}
	case "maxDrops":
		v.num, ok = d.integer(kv.v, sc, kv.key)
		if ok && v.num < 0 {
			d.errorf(kv.v, sc, "maxDrops %d is negative; use 0 to refuse every drop", v.num)
			ok = false
		}
	case "prune", "insecureSkipTLSVerify", "pruneSyncedUsers":
		v.flag, ok = d.boolean(kv.v, sc, kv.key)
	case "protect":
		v.list, ok = d.patterns(kv.v, sc)
	default:
		return false
	}
	v.bad = !ok
	s[kv.key] = v
	return true
}

func (d *decoder) enum(n *yaml.Node, sc scope, what string, options []string) (string, bool) {
	s, ok := d.str(n, sc, what)
	if !ok {
		return "", false
	}
	for _, o := range options {
		if s == o {
			return s, true
		}
	}
	d.errorf(n, sc, "%s %q is not one of %s%s", what, s, strings.Join(options, ", "), didYouMean(s, options))
	return "", false
}

func (d *decoder) patterns(n *yaml.Node, sc scope) ([]string, bool) {
	if r := d.resolve(n); r != nil && isNull(r) {
		d.errorf(r, sc, "protect has no value; write protect: [] to protect nothing, or remove the key")
		return nil, false
	}
	items, ok := d.sequence(n, sc, "protect")
	var out []string
	for _, item := range items {
		p, good := d.str(item, sc, "a protect pattern")
		if !good {
			ok = false
			continue
		}
		if p == "" {
			d.errorf(item, sc, "a protect pattern is empty")
			ok = false
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			d.errorf(item, sc, "protect pattern %q is not a valid glob (see Go's path.Match: * ? [a-z] \\x)", p)
			ok = false
			continue
		}
		out = append(out, p)
	}
	return out, ok
}

func isEnvName(s string) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && !('0' <= c && c <= '9') && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// applySettings fills s's connection and policy fields from the server's
// own keys (own) and the defaults (def). A key set on the server wins. A
// key that does not fit the auth or credential in force is an error where
// the server writes it; inherited, it is simply not inherited (the server
// changed its auth, or the defaults contradict themselves, which the
// defaults' own check reports once).
//
// Called with own = the merged defaults and def = nil, it is that check.
func (c *collector) applySettings(s *Server, own, def settings, sc scope) {
	get := func(key string) (v *setting, mine bool) {
		if v, ok := own[key]; ok {
			return v, true
		}
		return def[key], false
	}
	str := func(key, fallback string) string {
		if v, _ := get(key); v != nil && !v.bad {
			return v.str
		}
		return fallback
	}
	// refused drops a key that must not be used here; the error goes
	// where the server itself writes it.
	refused := func(key, msg string) {
		if v, mine := get(key); v != nil && !v.bad && mine {
			c.add(v.pos, sc, msg)
		}
	}
	// A refused auth or credential gets its own error; the keys that
	// depend on it are then not judged against a guess.
	authBad := func() bool { v, _ := get("auth"); return v != nil && v.bad }()
	credBad := func() bool { v, _ := get("credential"); return v != nil && v.bad }()

	s.Auth = Auth(str("auth", string(AuthEntra)))
	s.Database = str("database", "postgres")
	s.User = str("user", "")
	s.Cloud = str("cloud", "")
	s.SSLRootCert = str("sslrootcert", "")
	s.ReassignOwnedTo = str("reassignOwnedTo", "")
	if s.Directory = str("directory", DirectoryNone); s.Directory == DirectoryNone {
		s.Directory = "" // the default is left out of saved plans
	}
	s.Port = 5432
	if v, _ := get("port"); v != nil && !v.bad {
		s.Port = v.num
	}
	s.MaxDrops = DefaultMaxDrops
	if v, _ := get("maxDrops"); v != nil && !v.bad {
		s.MaxDrops = v.num
	}
	if v, _ := get("prune"); v != nil && !v.bad {
		s.Prune = v.flag
	}
	if v, _ := get("pruneSyncedUsers"); v != nil && !v.bad {
		s.PruneSyncedUsers = v.flag
	}
	if v, _ := get("protect"); v != nil && len(v.list) > 0 {
		s.Protect = append([]string(nil), v.list...)
	}

	switch s.Auth {
	case AuthEntra:
		s.Credential = str("credential", "default")
		s.SSLMode = str("sslmode", "verify-full")
		if authBad {
			break
		}
		if s.Credential == "managedidentity" || s.Credential == "workloadidentity" {
			s.ClientID = str("clientId", "")
		} else if !credBad {
			refused("clientId", errorMsg(
				"clientId applies only to credential managedidentity or workloadidentity, and the credential here is %q", s.Credential))
		}
		refused("passwordEnv", "passwordEnv applies only to auth: password; with auth: entra the password is an Entra token")
		if v, _ := get("insecureSkipTLSVerify"); v != nil && !v.bad {
			s.InsecureSkipTLSVerify = v.flag
		}
		if msg := s.Connection.TLSProblem(); msg != "" {
			refused("sslmode", msg)
			s.SSLMode = "verify-full"
		}
	case AuthPassword:
		s.PasswordEnv = str("passwordEnv", "PGPASSWORD")
		s.SSLMode = str("sslmode", "prefer")
		refused("credential", "credential applies only to auth: entra; auth: password reads the variable named by passwordEnv")
		refused("insecureSkipTLSVerify", "insecureSkipTLSVerify applies only to auth: entra, whose token it is about; "+
			"with auth: password, sslmode alone says how the server is checked")
		refused("clientId", "clientId applies only to auth: entra with credential managedidentity or workloadidentity")
	}
}
