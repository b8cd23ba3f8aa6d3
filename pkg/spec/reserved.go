package spec

import "strings"

// AdminRole is the role Azure puts Microsoft Entra administrators in. Its
// membership is the admin flag's business, never memberOf's.
const AdminRole = "azure_pg_admin"

// Reserved reports whether name is a role that belongs to Azure or to
// PostgreSQL itself and is never pgusers' to create, change or drop:
// azure_pg_admin, azuresu (Microsoft's superuser), replication, and every
// pg_* role (docs/pgaadauth.md).
func Reserved(name string) bool {
	switch name {
	case AdminRole, "azuresu", "replication":
		return true
	}
	return strings.HasPrefix(name, "pg_")
}
