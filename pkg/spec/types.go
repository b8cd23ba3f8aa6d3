package spec

import (
	"fmt"
	"slices"
)

// Position is where something was written in a desired-state file.
type Position struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

func (p Position) String() string {
	if p.File == "" {
		return ""
	}
	if p.Line == 0 {
		return p.File
	}
	if p.Column == 0 {
		// yaml.v3's syntax errors give a line but no column.
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// PrincipalType is the kind of Entra object behind a principal, spelled as
// pgaadauth spells it.
type PrincipalType string

const (
	User    PrincipalType = "user"
	Group   PrincipalType = "group"
	Service PrincipalType = "service"
)

// Auth is how pgusers signs in to a server.
type Auth string

const (
	AuthEntra    Auth = "entra"
	AuthPassword Auth = "password"
)

// Principal is one Entra principal that a server must have.
type Principal struct {
	Name string        `json:"name"`
	Type PrincipalType `json:"type"`
	// ObjectID is the Entra object id in lower case, or "" when the file
	// gives none (the server then resolves the name in the directory).
	ObjectID string `json:"objectId"`
	Admin    bool   `json:"admin"`
	MFA      bool   `json:"mfa"`
	// ManageMemberships is true when the file says memberOf (even []):
	// the principal must then be a member of exactly MemberOf. When false,
	// its memberships are left alone.
	ManageMemberships bool `json:"manageMemberships"`
	// MemberOf is sorted and without duplicates.
	MemberOf []string `json:"memberOf"`
	// RenamedFrom is the principal's role name before its name changed in
	// Entra (a UPN that changed): the plan renames that role, which keeps
	// its memberships, privileges and objects, instead of creating a new
	// one. Only with ObjectID, which proves the two are one principal.
	RenamedFrom string `json:"renamedFrom,omitempty"`
	// Set is the principal set this came from, "" for a server's own list.
	Set string   `json:"set"`
	Pos Position `json:"pos"`
}

// Connection is how pgusers reaches and signs in to a server: every setting
// of a server entry that connecting depends on, and nothing else. It is one
// value wherever it goes (saved plans, exports, comparisons), so that a new
// setting is carried everywhere or nowhere. Its yaml names are the file's
// keys; nothing in it is secret (auth: password names a variable).
type Connection struct {
	Host string `json:"host" yaml:"host"`
	Port int    `json:"port,omitempty" yaml:"port,omitempty"` // 0 means 5432
	// Database is where pgusers connects; pgaadauth exists only in postgres.
	Database    string `json:"database" yaml:"database"`
	User        string `json:"user" yaml:"user"`
	Auth        Auth   `json:"auth" yaml:"auth"`
	Credential  string `json:"credential,omitempty" yaml:"credential,omitempty"`   // entra only: default | azurecli | managedidentity | workloadidentity | environment
	ClientID    string `json:"clientId,omitempty" yaml:"clientId,omitempty"`       // entra only: a user-assigned managed identity's client id
	PasswordEnv string `json:"passwordEnv,omitempty" yaml:"passwordEnv,omitempty"` // password only: the variable holding the password (default PGPASSWORD)
	SSLMode     string `json:"sslmode" yaml:"sslmode"`                             // disable | allow | prefer | require | verify-ca | verify-full
	// SSLRootCert is the CA file, resolved against the directory of the
	// file that names it; "" means the system roots.
	SSLRootCert string `json:"sslrootcert,omitempty" yaml:"sslrootcert,omitempty"`
	Cloud       string `json:"cloud,omitempty" yaml:"cloud,omitempty"` // public | usgovernment | china, or "" to derive it from Host
	// InsecureSkipTLSVerify lets an Entra server use an sslmode that does
	// not verify its certificate (disable, allow, prefer, require): the
	// token, a bearer credential, then goes to whoever answers. Every run
	// warns of it.
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty" yaml:"insecureSkipTLSVerify,omitempty"`
}

// unverifiedModes are the sslmodes that can send a password to a server
// whose certificate was not checked.
var unverifiedModes = []string{"disable", "allow", "prefer", "require"}

// TLSProblem says why c must not sign in as it says, or returns "": an
// Entra token is sent only to a server whose certificate verified, unless
// InsecureSkipTLSVerify says otherwise.
func (c Connection) TLSProblem() string {
	if c.Auth != AuthEntra || c.InsecureSkipTLSVerify || !slices.Contains(unverifiedModes, c.SSLMode) {
		return ""
	}
	return fmt.Sprintf("sslmode %s does not verify the server's certificate, so the Entra token, a bearer credential, could be "+
		"sent to whoever answers: use verify-full (the default) or verify-ca, or, accepting that risk, set insecureSkipTLSVerify: true", c.SSLMode)
}

// Server is one server entry with its defaults applied and its principal
// sets expanded.
type Server struct {
	Name string `json:"name"`
	Connection

	Prune    bool     `json:"prune"`
	Protect  []string `json:"protect"`  // path.Match patterns never dropped
	MaxDrops int      `json:"maxDrops"` // refuse a plan that drops or replaces more
	// PruneSyncedUsers lets prune drop undeclared user principals on a
	// server whose group sync is on, where the server makes them itself.
	PruneSyncedUsers bool   `json:"pruneSyncedUsers,omitempty"`
	ReassignOwnedTo  string `json:"reassignOwnedTo"`
	// Directory is DirectoryGraph when plan checks the declared principals
	// against Microsoft Graph, else "" (directory: none).
	Directory string `json:"directory,omitempty"`

	// Principals are the server's own and its included sets', sorted by name.
	Principals []Principal `json:"principals"`
	// Roles are the server's own group roles and its included role sets',
	// sorted by name.
	Roles []Role `json:"roles,omitempty"`
	// Grants are the server's grant entries, in file order.
	Grants []Grant  `json:"grants,omitempty"`
	Pos    Position `json:"pos"`
}

// Desired is the merged desired state of every file.
type Desired struct {
	// Servers are in the order the files give them (files in the order
	// named, a directory's files sorted by name).
	Servers []Server
	// Refined are the servers entries with discovered: true, waiting for
	// discovery to give their host (AddDiscovered).
	Refined []Server
	// Discover are the discover entries: where Azure finds more servers.
	Discover []DiscoverSource
	// Files are the files read, in order.
	Files []string
	// Warnings are what the files do that is allowed and likely a mistake
	// (a tables grant without defaultsFor), in file order.
	Warnings Errors
}

// Server returns the server named name, or false.
func (d *Desired) Server(name string) (Server, bool) {
	for _, s := range d.Servers {
		if s.Name == name {
			return s, true
		}
	}
	return Server{}, false
}

// The values of the directory setting.
const (
	DirectoryNone  = "none"  // Entra is not asked (the default)
	DirectoryGraph = "graph" // plan and access ask Microsoft Graph about the principals
)

// DefaultMaxDrops is how many drops and replaces a server's plan may hold
// unless the file or the command line says otherwise.
const DefaultMaxDrops = 5

// MaxNameBytes is PostgreSQL's identifier limit; longer names are silently
// truncated by the server, so pgusers refuses them.
const MaxNameBytes = 63
