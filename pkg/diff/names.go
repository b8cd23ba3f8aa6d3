package diff

import (
	"path"
	"strings"
)

// AdminRole is the role Azure puts administrators in. Its membership is the
// admin flag's business, never memberOf's.
const AdminRole = "azure_pg_admin"

// Reserved reports whether name is a role that belongs to Azure or to
// PostgreSQL itself and is never pgusers' to create or drop.
func Reserved(name string) bool {
	switch name {
	case AdminRole, "azuresu", "replication":
		return true
	}
	return strings.HasPrefix(name, "pg_")
}

// protectedBy returns the first pattern that matches name, or "".
func protectedBy(patterns []string, name string) string {
	for _, p := range patterns {
		if ok, err := path.Match(p, name); err == nil && ok {
			return p
		}
	}
	return ""
}
