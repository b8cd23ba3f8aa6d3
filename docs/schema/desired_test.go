package schema_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pgusers/pgusers/pkg/spec"
)

// sub is an Azure subscription id.
const sub = "4c8a1e2f-3b5d-4e6f-8a9b-0c1d2e3f4a5b"

// loadFile has pgusers' loader read one desired-state file, written to a
// fresh directory: nil when it accepts the file.
func loadFile(t *testing.T, content string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pgusers.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := spec.Load(context.Background(), []string{path})
	return err
}

// validateYAML validates a desired-state file against the schema.
func (c compiled) validateYAML(t *testing.T, content []byte) error {
	t.Helper()
	doc, err := yamlToJSON(content)
	if err != nil {
		t.Fatalf("the YAML does not convert to JSON: %v\n%s", err, content)
	}
	return c.validate(desiredSchema, doc)
}

// hasMessage reports whether err is the loader's and one of its problems
// says want.
func hasMessage(err error, want string) bool {
	var errs spec.Errors
	if !errors.As(err, &errs) {
		return false
	}
	return slices.ContainsFunc(errs, func(e *spec.Error) bool { return strings.Contains(e.Msg, want) })
}

// server is a file with defaults and one server, the server's keys
// followed by lines (each indented as a key of the server).
func server(lines ...string) string {
	var b strings.Builder
	b.WriteString("version: 1\ndefaults: {user: pg-admins}\nservers:\n  - name: s\n    host: s.postgres.database.azure.com\n")
	for _, l := range lines {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// grant is a file whose one server has one grant entry of the given keys
// (flow style, without braces), and the group roles readers and app_owner.
func grant(keys string) string {
	return server("roles: [{name: readers}, {name: app_owner}]", "grants:", "  - {"+keys+"}")
}

// desiredFiles are the desired-state files under examples/ and
// pkg/spec/testdata/, sorted.
func desiredFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"examples", "pkg/spec/testdata"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			// A desired-state file is a mapping with a version key;
			// workflows, pipelines and manifests are not.
			var top map[string]any
			if yaml.Unmarshal(data, &top) != nil || top["version"] == nil {
				return nil
			}
			out = append(out, path)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

// TestDesiredStateFiles validates every desired-state file of the
// repository that the loader accepts (files under examples/ must all be
// accepted), and the files the Kubernetes example's ConfigMap holds.
func TestDesiredStateFiles(t *testing.T) {
	c := compile(t, false)
	files := desiredFiles(t)
	// The ConfigMap's files, as the CronJob mounts them.
	cm := filepath.Join(t.TempDir(), "configmap")
	if err := os.Mkdir(cm, 0o700); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data map[string]string `yaml:"data"`
	}
	data, err := os.ReadFile(filepath.Join(root, "examples/kubernetes/configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for name, body := range doc.Data {
		p := filepath.Join(cm, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if len(doc.Data) == 0 {
		t.Error("examples/kubernetes/configmap.yaml holds no file")
	}

	validated := 0
	for _, path := range files {
		name, _ := filepath.Rel(root, path)
		if strings.HasPrefix(path, cm) {
			name = "examples/kubernetes/configmap.yaml: " + filepath.Base(path)
		}
		t.Run(name, func(t *testing.T) {
			err := loadWithCompany(path, files)
			if err != nil {
				if strings.HasPrefix(name, "examples") {
					t.Fatalf("the loader refuses an example: %v", err)
				}
				t.Skipf("the loader refuses it, alone and with its directory: %v", err)
			}
			content, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.validateYAML(t, content); err != nil {
				t.Errorf("the loader accepts it, the schema does not:\n%v", err)
			}
			validated++
		})
	}
	// The examples (5), the ConfigMap's files (2) and pkg/spec/testdata
	// (8): a walk that finds fewer has lost its way.
	if validated < 15 {
		t.Errorf("validated %d desired-state files, want at least 15", validated)
	}
}

// loadWithCompany loads path as pgusers would be asked to: alone; or, a
// file of a fleet split into files, with the other files of its
// directory; or with those and a file of a sub-directory that completes
// them (the example workflows' -f pgusers/ -f pgusers/sign-in/plan.yaml).
func loadWithCompany(path string, files []string) error {
	_, err := spec.Load(context.Background(), []string{path})
	if err == nil {
		return nil
	}
	dir := filepath.Dir(path)
	if _, err = spec.Load(context.Background(), []string{dir}); err == nil {
		return nil
	}
	for _, other := range files {
		if rel, _ := filepath.Rel(dir, filepath.Dir(other)); rel == "." || strings.HasPrefix(rel, "..") {
			continue
		}
		if _, err2 := spec.Load(context.Background(), []string{dir, other}); err2 == nil {
			return nil
		}
	}
	return err
}

// modeline is the comment that points editors at the schema.
var modeline = regexp.MustCompile(`^# yaml-language-server: \$schema=(\S+)\n`)

// TestModelines checks that every desired-state file under examples/
// starts with the yaml-language-server comment, and that its relative path
// leads to pgusers.schema.json.
func TestModelines(t *testing.T) {
	schema, err := filepath.Abs(desiredSchema)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range desiredFiles(t) {
		if !strings.HasPrefix(path, filepath.Join(root, "examples")) {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := modeline.FindSubmatch(data)
		if m == nil {
			t.Errorf("%s: the first line is not # yaml-language-server: $schema=PATH", path)
			continue
		}
		target, err := filepath.Abs(filepath.Join(filepath.Dir(path), string(m[1])))
		if err != nil {
			t.Fatal(err)
		}
		if target != schema {
			t.Errorf("%s: $schema=%s leads to %s, not to docs/schema/%s", path, m[1], target, desiredSchema)
		}
	}
}

// TestRefusedFiles: files that the loader refuses for a reason the schema
// can express must fail the schema too. Each case names the loader's
// message, so that it fails for the reason it is meant to.
func TestRefusedFiles(t *testing.T) {
	c := compile(t, false)
	long := strings.Repeat("a", 64)
	tests := []struct {
		name, file, loader string
	}{
		// The file.
		{"unknown top-level key", "version: 1\ncolor: red\n", `unknown key "color"`},
		{"no version", "servers: []\n", "version is missing"},
		{"version as a string", "version: \"1\"\n", "version must be the number 1"},
		{"another version", "version: 2\n", "version 2 is not supported"},
		{"servers as a mapping", "version: 1\nservers: {a: 1}\n", "servers must be a list"},

		// Settings and servers.
		{"unknown server key", server("sslMode: require"), `unknown key "sslMode"`},
		{"server key in defaults", "version: 1\ndefaults: {user: a, host: h}\n", "host is set on each server"},
		{"unknown defaults key", "version: 1\ndefaults: {user: a, colour: red}\n", `unknown key "colour"`},
		{"no server name", "version: 1\ndefaults: {user: a}\nservers:\n  - host: h\n", "name is required"},
		{"blank server name", "version: 1\ndefaults: {user: a}\nservers:\n  - {name: \"  \", host: h}\n", "name is empty"},
		{"no host", "version: 1\ndefaults: {user: a}\nservers:\n  - name: s\n", "host is required"},
		{"host a URL", "version: 1\ndefaults: {user: a}\nservers:\n  - {name: s, host: \"https://h/\"}\n", "is a URL"},
		{"host with a space", "version: 1\ndefaults: {user: a}\nservers:\n  - {name: s, host: \"a b\"}\n", "contains a space"},
		{"empty host", "version: 1\ndefaults: {user: a}\nservers:\n  - {name: s, host: \"\"}\n", "host is empty"},
		{"bad auth", server("auth: token"), `auth "token" is not one of`},
		{"bad credential", server("credential: managed"), `credential "managed" is not one of`},
		{"bad sslmode", server("sslmode: verify_full"), `sslmode "verify_full" is not one of`},
		{"sslmode in upper case", server("sslmode: REQUIRE"), `sslmode "REQUIRE" is not one of`},
		{"bad cloud", server("cloud: azure"), `cloud "azure" is not one of`},
		{"port 0", server("port: 0"), "port 0 is out of range"},
		{"port too large", server("port: 70000"), "port 70000 is out of range"},
		{"port quoted", server("port: \"5432\""), "port must be a whole number"},
		{"maxDrops negative", server("maxDrops: -1"), "maxDrops -1 is negative"},
		{"prune yes", server("prune: yes"), "prune must be true or false"},
		{"protect no value", server("protect:"), "protect has no value"},
		{"protect a string", server("protect: breakglass-*"), "protect must be a list"},
		{"empty protect pattern", server(`protect: [""]`), "a protect pattern is empty"},
		{"clientId not a UUID", server("credential: managedidentity", "clientId: nope"), `clientId "nope" is not a UUID`},
		{"clientId with braces", server("credential: managedidentity", "clientId: \"{3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f}\""), "is not a UUID"},
		{"clientId nil", server("credential: managedidentity", "clientId: 00000000-0000-0000-0000-000000000000"), "clientId is the nil UUID"},
		{"passwordEnv not a variable", server("auth: password", "passwordEnv: 1PW"), "is not an environment variable name"},
		{"sslrootcert empty", server(`sslrootcert: ""`), "sslrootcert is empty"},
		{"database too long", server("database: " + long), "is 64 bytes"},
		{"user with a tab", server(`user: "pg\tadmins"`), "contains a control character"},
		{"user a boolean", server("user: true"), "user must be a string, not the boolean true"},
		{"user no value", server("user:"), "user has no value"},
		{"reassignOwnedTo empty", server(`reassignOwnedTo: ""`), "reassignOwnedTo is empty"},

		// Settings that depend on auth and credential, in one mapping.
		{"credential with auth password", server("auth: password", "credential: azurecli"), "credential applies only to auth: entra"},
		{"clientId with auth password", server("auth: password", "clientId: 3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"), "clientId applies only to auth: entra"},
		{"passwordEnv with auth entra", server("auth: entra", "passwordEnv: PW"), "passwordEnv applies only to auth: password"},
		{"sslmode require with auth entra, not skipping verification", server("auth: entra", "sslmode: require", "insecureSkipTLSVerify: false"), "sslmode require does not verify the server's certificate"},
		{"insecureSkipTLSVerify with auth password", server("auth: password", "insecureSkipTLSVerify: true"), "insecureSkipTLSVerify applies only to auth: entra"},
		{"insecureSkipTLSVerify yes", server("insecureSkipTLSVerify: yes"), "insecureSkipTLSVerify must be true or false"},
		{"pruneSyncedUsers 1", server("pruneSyncedUsers: 1"), "pruneSyncedUsers must be true or false"},
		{"clientId with credential azurecli", server("credential: azurecli", "clientId: 3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"), "clientId applies only to credential managedidentity or workloadidentity"},
		{"credential with auth password in defaults", "version: 1\ndefaults: {user: a, auth: password, credential: default}\n", "credential applies only to auth: entra"},

		// Principals.
		{"unknown principal key", server("principals: [{name: a, type: user, color: red}]"), `unknown key "color"`},
		{"principal without type", server("principals: [{name: a}]"), "type is required"},
		{"principal without name", server("principals: [{type: user}]"), "name is required"},
		{"principal type in upper case", server("principals: [{name: a, type: User}]"), `type "User" is not one of user, group, service`},
		{"objectId not a UUID", server("principals: [{name: a, type: user, objectId: xyz}]"), `objectId "xyz" is not a UUID`},
		{"objectId too short", server("principals: [{name: a, type: user, objectId: 6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a9}]"), "is not a UUID"},
		{"objectId nil", server("principals: [{name: a, type: user, objectId: 00000000-0000-0000-0000-000000000000}]"), "objectId is the nil UUID"},
		{"principal name too long", server("principals: [{name: " + long + ", type: user}]"), "is 64 bytes"},
		{"principal name empty", server(`principals: [{name: "", type: user}]`), "name is empty"},
		{"principal name with a line break", server(`principals: [{name: "a\nb", type: user}]`), "contains a control character"},
		{"principal name pg_*", server("principals: [{name: pg_monitor, type: user}]"), `name "pg_monitor" is reserved`},
		{"principal name azuresu", server("principals: [{name: azuresu, type: user}]"), "is a reserved role that Azure manages"},
		{"principal name a boolean", server("principals: [{name: true, type: user}]"), "name must be a string, not the boolean true"},
		{"admin yes", server("principals: [{name: a, type: user, admin: yes}]"), "admin must be true or false"},
		{"mfa 1", server("principals: [{name: a, type: user, mfa: 1}]"), "mfa must be true or false"},
		{"memberOf no value", server("principals: [{name: a, type: user, memberOf: }]"), "memberOf has no value"},
		{"memberOf a string", server("principals: [{name: a, type: user, memberOf: reporting}]"), "memberOf must be a list"},
		{"memberOf azure_pg_admin", server("principals: [{name: a, type: user, memberOf: [azure_pg_admin]}]"), "memberOf cannot list azure_pg_admin"},
		{"memberOf role too long", server("principals: [{name: a, type: user, memberOf: [" + long + "]}]"), "is 64 bytes"},
		{"renamedFrom without objectId", server("principals: [{name: a, type: user, renamedFrom: b}]"), "renamedFrom needs objectId"},
		{"renamedFrom too long", server("principals: [{name: a, type: user, objectId: 6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90, renamedFrom: " + long + "}]"), "is 64 bytes"},
		{"principals a mapping", server("principals: {name: a, type: user}"), "principals must be a list"},

		// Group roles.
		{"unknown role key", server("roles: [{name: r, owner: x}]"), `unknown key "owner"`},
		{"role without name", server("roles: [{comment: x}]"), "name is required"},
		{"role PUBLIC", server("roles: [{name: Public}]"), "PUBLIC stands for every role"},
		{"role pg_*", server("roles: [{name: pg_read_all_data}]"), "is reserved"},
		{"absent role with a comment", server("roles: [{name: r, absent: true, comment: x}]"), "comment does not apply to a role that is absent"},
		{"absent role with memberOf", server("roles: [{name: r, absent: true, memberOf: []}]"), "memberOf does not apply to a role that is absent"},
		{"role comment of two lines", server(`roles: [{name: r, comment: "a\nb"}]`), "a comment is one line of text"},
		{"absent yes", server("roles: [{name: r, absent: yes}]"), "absent must be true or false"},

		// Sets.
		{"principal set without a name", "version: 1\nprincipalSets:\n  \"\": []\n", "a principal set needs a name"},
		{"principal set a mapping", "version: 1\nprincipalSets:\n  team: {name: a, type: user}\n", "a principal set must be a list"},
		{"principal set member without type", "version: 1\nprincipalSets:\n  team: [{name: a}]\n", "type is required"},
		{"role set without a name", "version: 1\nroleSets:\n  \"\": []\n", "a role set needs a name"},
		{"role set member with a bad key", "version: 1\nroleSets:\n  app: [{name: r, login: true}]\n", `unknown key "login"`},
		{"include a string", server("include: team"), "include must be a list"},

		// Privilege profiles.
		{"profile named as a built-in", "version: 1\nprivilegeProfiles:\n  readonly: {tables: [SELECT]}\n", "built-in profile"},
		{"unknown profile key", "version: 1\nprivilegeProfiles:\n  p: {tables: [SELECT], views: [SELECT]}\n", `unknown key "views"`},
		{"profile granting nothing", "version: 1\nprivilegeProfiles:\n  p: {}\n", "the profile grants nothing"},
		{"profile including nothing", "version: 1\nprivilegeProfiles:\n  p: {include: []}\n", "the profile grants nothing"},
		{"profile no value", "version: 1\nprivilegeProfiles:\n  p:\n", "a privilege profile must be a mapping"},
		{"profile privilege of another kind", "version: 1\nprivilegeProfiles:\n  p: {tables: [USAGE]}\n", `privilege "USAGE" does not apply to tables`},

		// Grants.
		{"unknown grant key", grant("to: readers, databases: [d], tables: [SELECT], owner: x"), `unknown key "owner"`},
		{"grant without to", grant("databases: [d], tables: [SELECT]"), "to is required"},
		{"grant without databases", grant("to: readers, tables: [SELECT]"), "databases is required"},
		{"databases empty", grant("to: readers, databases: [], tables: [SELECT]"), "databases is empty"},
		{"databases no value", grant("to: readers, databases: , tables: [SELECT]"), "databases has no value"},
		{"database name too long", grant("to: readers, databases: [" + long + "], tables: [SELECT]"), "is 64 bytes"},
		{"schemas empty", grant("to: readers, databases: [d], schemas: [], tables: [SELECT]"), "schemas is empty"},
		{"grant to pg_*", grant("to: pg_monitor, databases: [d], database: [CONNECT]"), `to "pg_monitor" is reserved`},
		{"grant to azure_pg_admin", grant("to: azure_pg_admin, databases: [d], database: [CONNECT]"), "is a reserved role that Azure manages"},
		{"a table privilege under database", grant("to: readers, databases: [d], database: [SELECT]"), `privilege "SELECT" does not apply to database`},
		{"TEMP under schema", grant("to: readers, databases: [d], schema: [TEMP]"), `privilege "TEMP" does not apply to schema`},
		{"EXECUTE under sequences", grant("to: readers, databases: [d], sequences: [EXECUTE]"), `privilege "EXECUTE" does not apply to sequences`},
		{"unknown privilege", grant("to: readers, databases: [d], tables: [READ]"), `unknown privilege "READ" under tables`},
		{"ALLPRIVILEGES", grant("to: readers, databases: [d], tables: [ALLPRIVILEGES]"), `unknown privilege "ALLPRIVILEGES"`},
		{"privileges a string", grant("to: readers, databases: [d], tables: SELECT"), "tables must be a list"},
		{"privileges no value", grant("to: readers, databases: [d], tables: "), "tables has no value"},
		{"defaultsFor PUBLIC", grant("to: readers, databases: [d], tables: [SELECT], defaultsFor: [public]"), "defaultsFor cannot name PUBLIC"},
		{"defaultsFor no value", grant("to: readers, databases: [d], tables: [SELECT], defaultsFor: "), "defaultsFor has no value"},
		{"an entry managing nothing", grant("to: readers, databases: [d]"), "the entry manages no privileges"},
		{"schemas without a schema-level kind", grant("to: readers, databases: [d], schemas: [s], database: [CONNECT]"), "schemas applies to schema, tables, sequences and functions"},
		{"defaultsFor without tables, sequences or functions", grant("to: readers, databases: [d], schema: [USAGE], defaultsFor: [app_owner]"), "defaultsFor applies to tables, sequences and functions"},
		{"grants a mapping", server("grants: {to: readers}"), "grants must be a list"},

		// Discovery.
		{"discovered with a host", "version: 1\ndefaults: {user: a}\nservers:\n  - {name: s, host: h, discovered: true}\n", "host is set, and discovered: true says Azure gives it"},
		{"discovered false without a host", "version: 1\ndefaults: {user: a}\nservers:\n  - {name: s, discovered: false}\n", "host is required"},
		{"discovered yes", "version: 1\ndefaults: {user: a}\nservers:\n  - {name: s, discovered: yes}\n", "discovered must be true or false"},
		{"discover a mapping", "version: 1\ndiscover: {subscription: " + sub + "}\n", "discover must be a list"},
		{"discover without a subscription", "version: 1\ndiscover:\n  - {resourceGroup: rg}\n", "subscription is required"},
		{"subscription not a UUID", "version: 1\ndiscover:\n  - {subscription: my-sub}\n", `subscription "my-sub" is not a UUID`},
		{"unknown discover key", "version: 1\ndiscover:\n  - {subscription: " + sub + ", region: westeurope}\n", `unknown key "region"`},
		{"resourceGroup a path", "version: 1\ndiscover:\n  - {subscription: " + sub + ", resourceGroup: a/b}\n", "is not a resource group's name"},
		{"resourceGroup blank", "version: 1\ndiscover:\n  - {subscription: " + sub + ", resourceGroup: \" \"}\n", "is not a resource group's name"},
		{"tags a list", "version: 1\ndiscover:\n  - {subscription: " + sub + ", tags: [env]}\n", "tags must be a mapping"},
		{"a tag of no value", "version: 1\ndiscover:\n  - {subscription: " + sub + ", tags: {env: }}\n", "has no value"},
		{"an empty name glob", "version: 1\ndiscover:\n  - {subscription: " + sub + ", names: [\"\"]}\n", "is not a valid glob"},
		{"discover cloud empty", "version: 1\ndiscover:\n  - {subscription: " + sub + ", cloud: \"\"}\n", `cloud "" is not one of`},
		{"the discovered server's name", "version: 1\ndiscover:\n  - {subscription: " + sub + ", server: {name: s}}\n", "name is not set here"},
		{"the discovered server's host", "version: 1\ndiscover:\n  - {subscription: " + sub + ", server: {host: h}}\n", "host is not set here"},
		{"the discovered server's bad setting", "version: 1\ndiscover:\n  - {subscription: " + sub + ", server: {auth: password, credential: azurecli}}\n", "credential applies only to auth: entra"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := loadFile(t, tc.file)
			if !hasMessage(err, tc.loader) {
				t.Fatalf("the loader says %v; want a problem saying %q\n%s", err, tc.loader, tc.file)
			}
			if err := c.validateYAML(t, []byte(tc.file)); err == nil {
				t.Errorf("the schema accepts what the loader refuses (%s):\n%s", tc.loader, tc.file)
			}
		})
	}
}

// TestAcceptedFiles: files the loader accepts, written in the ways that
// are easy to get wrong in a schema (YAML numbers and dates as names,
// YAML 1.1 words, empty values, privileges in any case, merge keys), must
// pass the schema too.
func TestAcceptedFiles(t *testing.T) {
	c := compile(t, false)
	tests := []struct{ name, file string }{
		{"numbers and dates as names", server(
			"principals:",
			"  - {name: 2024, type: group}",
			"  - {name: 0x1F, type: group}",
			"  - {name: 1_000, type: group}",
			"  - {name: 1.5, type: group}",
			"  - {name: 2024-01-01, type: group}",
			"  - {name: no, type: user, memberOf: [2025, yes]}",
		)},
		{"a server named by a number", "version: 1\ndefaults: {user: 42}\nservers:\n  - {name: 42, host: 10.0.0.1, database: 7}\n"},
		{"a set named by a number", "version: 1\ndefaults: {user: a}\nprincipalSets:\n  2024: [{name: a, type: user}]\nservers:\n  - {name: s, host: h, include: [2024]}\n"},
		{"empty values", "version: 1\ndefaults:\nprincipalSets:\nroleSets:\nprivilegeProfiles:\nservers:\n"},
		{"empty sets and lists", "version: 1\ndefaults: {user: a}\nprincipalSets:\n  team:\nroleSets:\n  app: []\nservers:\n  - {name: s, host: h, include: [team], includeRoles: [app], principals: , roles: , grants: , protect: []}\n"},
		{"cloud empty", server(`cloud: ""`)},
		{"every setting", server("database: postgres", "auth: entra", "credential: workloadidentity",
			"clientId: 3C1D2E4F-5A6B-4C7D-8E9F-0A1B2C3D4E5F", "sslmode: verify-ca", "sslrootcert: ca.pem", "cloud: china",
			"port: 0x1538", "prune: True", "protect: ['breakglass-*', 'dba-[a-z]']", "maxDrops: 0", "reassignOwnedTo: dba",
			"pruneSyncedUsers: false", "insecureSkipTLSVerify: true")},
		{"password settings", server("auth: password", "passwordEnv: _PG_PW1", "sslmode: prefer")},
		{"settings inherited and not", "version: 1\ndefaults: {user: a, credential: managedidentity, clientId: 3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f, sslmode: require, insecureSkipTLSVerify: true}\nservers:\n  - {name: s, host: h, auth: password}\n"},
		{"an unverified sslmode, knowingly", server("auth: entra", "sslmode: disable", "insecureSkipTLSVerify: true")},
		{"insecureSkipTLSVerify false", server("auth: entra", "sslmode: verify-ca", "insecureSkipTLSVerify: false")},
		{"renamedFrom", server("principals: [{name: alice@contoso.com, type: user, objectId: 6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90, renamedFrom: alice@fabrikam.com}]")},
		{"memberOf empty", server("principals: [{name: a, type: user, memberOf: [], admin: false, mfa: TRUE}]")},
		{"privileges in any case, with spaces", grant(`to: readers, databases: [d, d], schemas: [s, public, s], ` +
			`database: [temp, Connect, TEMPORARY, " create "], schema: [usage, Create], ` +
			`tables: [all privileges, maintain, "ALL\tPRIVILEGES", Select], sequences: [All], functions: [execute], defaultsFor: [app_owner, app_owner]`)},
		{"PUBLIC in any case", grant("to: public, databases: [d], database: [CONNECT]")},
		{"privileges empty", grant("to: Public, databases: [d], database: [], tables: []")},
		{"defaultsFor empty", grant("to: readers, databases: [d], database: [CONNECT], defaultsFor: []")},
		{"a profile with schemas and defaultsFor", grant("to: readers, databases: [d], schemas: [s], profile: readonly, defaultsFor: [app_owner]")},
		{"profiles", "version: 1\nprivilegeProfiles:\n  p: {include: [readonly], tables: [INSERT]}\n  q: {include: [p]}\n  r: {functions: []}\n  s:\n    include:\n    database: [connect]\n"},
		{"roles", server("roles:", "  - {name: r, comment: '', memberOf: [s]}", "  - {name: s, absent: false, comment: 2024}", "  - {name: gone, absent: true}")},
		{"anchors and merge keys", "version: 1\ndefaults: {user: a}\nservers:\n  - &base\n    name: a\n    host: a.example\n    prune: true\n    principals: &ps\n      - {name: x, type: user}\n  - <<: *base\n    name: b\n    host: b.example\n    principals: *ps\n"},
		{"a name of 63 bytes", server("principals: [{name: " + strings.Repeat("n", 63) + ", type: user}]")},
		{"discovery", "version: 1\ndefaults: {user: a}\nprincipalSets: {team: []}\ndiscover:\n" +
			"  - subscription: " + strings.ToUpper(sub) + "\n    resourceGroup: rg-orders\n    tags: {env: prod, tier: 1}\n" +
			"    names: ['orders-*', 'billing-?']\n    cloud: usgovernment\n" +
			"    server: {include: [team], prune: true, roles: [{name: r}], grants: [{to: r, databases: [d], database: [CONNECT]}]}\n" +
			"  - {subscription: " + sub + ", names: }\n" +
			"servers:\n  - {name: orders-prod, discovered: true, prune: false}\n  - {name: s, host: h, discovered: false}\n"},
		{"discover empty", "version: 1\ndiscover:\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := loadFile(t, tc.file); err != nil {
				t.Fatalf("the loader refuses it: %v\n%s", err, tc.file)
			}
			if err := c.validateYAML(t, []byte(tc.file)); err != nil {
				t.Errorf("the loader accepts it, the schema does not:\n%v\n%s", err, tc.file)
			}
		})
	}
}

// TestLoaderOnlyRules lists the rules pgusers checks that the schema does
// not: each file here is refused by the loader and passes the schema.
// They need more than one mapping to judge, or the files merged, or what a
// pattern cannot say:
//
//   - every server needs a user, set on it or in the defaults of any file;
//   - names unique across files and lists: servers, principal sets, role
//     sets, profiles; a defaults key set in two files; a principal (by name
//     or objectId) or a role declared twice on a server, directly or
//     through sets; a set or profile included twice;
//   - references resolve: include, includeRoles, profile and a profile's
//     include name something defined (built-in profiles aside), and
//     profiles include no cycle;
//   - a name is one role: not both a principal and a group role;
//   - a role that a server declares absent is in no memberOf, to or
//     defaultsFor of that server; memberOf does not list the role itself;
//   - settings judged against the auth, credential and
//     insecureSkipTLSVerify a server inherits: clientId, passwordEnv,
//     credential, insecureSkipTLSVerify, and an sslmode that does not
//     verify the certificate with Entra, where what is in force is not
//     written beside them (the schema checks the keys written in one
//     mapping); defaults are judged against their own, which another file
//     may set;
//   - one server (host and port) declared twice under two names;
//   - renamedFrom naming the principal itself;
//   - a grant whose profile manages only database takes no schemas, one
//     without tables, sequences or functions no defaultsFor (the schema
//     checks the entries without a profile);
//   - names are limited to 63 bytes, and JSON Schema counts characters;
//   - whole numbers: version 1.0 and port 5432.0 are refused, and JSON
//     Schema counts 1.0 as the integer 1;
//   - protect patterns must be valid globs;
//   - YAML itself: one document per file, a key set twice in a mapping,
//     aliases that expand too far (checked before any schema could be).
func TestLoaderOnlyRules(t *testing.T) {
	c := compile(t, false)
	twoByte := strings.Repeat("é", 32) // 32 characters, 64 bytes
	tests := []struct {
		name, file, loader string
	}{
		{"no user anywhere", "version: 1\nservers:\n  - {name: s, host: h}\n", "no user to sign in as"},
		{"a server name used twice", "version: 1\ndefaults: {user: a}\nservers:\n  - {name: s, host: h}\n  - {name: s, host: i}\n", `server name "s" is used twice`},
		{"an unknown set", server("include: [team]"), `unknown principal set "team"`},
		{"an unknown role set", server("includeRoles: [app]"), `unknown role set "app"`},
		{"a set included twice", "version: 1\ndefaults: {user: a}\nprincipalSets: {team: []}\nservers:\n  - {name: s, host: h, include: [team, team]}\n", "is included twice"},
		{"a principal declared twice", server("principals: [{name: a, type: user}, {name: a, type: group}]"), "declared twice on this server"},
		{"an objectId used twice", server("principals: [{name: a, type: user, objectId: 6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90}, {name: b, type: user, objectId: 6F1E9A3C-0D7B-4C1E-9A51-3B2F4D6E8A90}]"), "is also the object id of"},
		{"a role declared twice", server("roles: [{name: r}, {name: r}]"), "declared twice on this server"},
		{"memberOf itself", server("principals: [{name: a, type: user, memberOf: [a]}]"), "memberOf lists the principal itself"},
		{"a principal and a group role of one name", server("principals: [{name: a, type: user}]", "roles: [{name: a}]"), "a name is one role"},
		{"memberOf an absent role", server("principals: [{name: a, type: user, memberOf: [r]}]", "roles: [{name: r, absent: true}]"), "which this server declares absent"},
		{"a grant to an absent role", server("roles: [{name: r, absent: true}]", "grants: [{to: r, databases: [d], database: [CONNECT]}]"), "which this server declares absent"},
		{"an unknown profile", grant("to: readers, databases: [d], profile: readonly2"), "unknown privilege profile"},
		{"a profile cycle", "version: 1\nprivilegeProfiles:\n  p: {include: [q]}\n  q: {include: [p]}\n", "include closes a cycle"},
		{"a profile including an unknown one", "version: 1\nprivilegeProfiles:\n  p: {include: [nope]}\n", "unknown privilege profile"},
		{"passwordEnv with the default auth", server("passwordEnv: PW"), "passwordEnv applies only to auth: password"},
		{"sslmode prefer with the default auth", server("sslmode: prefer"), "sslmode prefer does not verify the server's certificate"},
		{"sslmode require with auth entra", server("auth: entra", "sslmode: require"), "sslmode require does not verify the server's certificate"},
		{"renamedFrom the principal's own name", server("principals: [{name: a, type: user, objectId: 6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90, renamedFrom: a}]"), "renamedFrom is the principal's own name"},
		{"one server twice", "version: 1\ndefaults: {user: a}\nservers:\n  - {name: s, host: h.example}\n  - {name: t, host: H.example.}\n", "two entries for one server"},
		{"clientId with the default credential", server("clientId: 3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"), "clientId applies only to credential managedidentity"},
		{"clientId in defaults with the default credential", "version: 1\ndefaults: {user: a, clientId: 3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f}\n", "clientId applies only to credential"},
		{"schemas with a profile of database only", "version: 1\nprivilegeProfiles:\n  connect: {database: [CONNECT]}\n" + strings.TrimPrefix(grant("to: readers, databases: [d], schemas: [s], profile: connect"), "version: 1\n"), "schemas applies to schema, tables"},
		{"defaultsFor with a profile of database only", "version: 1\nprivilegeProfiles:\n  connect: {database: [CONNECT]}\n" + strings.TrimPrefix(grant("to: readers, databases: [d], profile: connect, defaultsFor: [app_owner]"), "version: 1\n"), "defaultsFor applies to tables"},
		{"columns with a profile of database only", "version: 1\nprivilegeProfiles:\n  connect: {database: [CONNECT]}\n" + strings.TrimPrefix(grant("to: readers, databases: [d], profile: connect, columns: {t: {c: [UPDATE]}}"), "version: 1\n"), "columns belong to the tables cell"},
		{"a name of 64 bytes in 32 characters", server("principals: [{name: " + twoByte + ", type: user}]"), "is 64 bytes"},
		{"version 1.0", "version: 1.0\n", "version must be 1"},
		{"port 5432.0", server("port: 5432.0"), "port must be a whole number"},
		{"a protect pattern that is no glob", server(`protect: ["[a-"]`), "is not a valid glob"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := loadFile(t, tc.file)
			if !hasMessage(err, tc.loader) {
				t.Fatalf("the loader says %v; want a problem saying %q\n%s", err, tc.loader, tc.file)
			}
			if err := c.validateYAML(t, []byte(tc.file)); err != nil {
				t.Errorf("the schema now refuses it too (move the case to TestRefusedFiles, and the rule out of this comment):\n%v", err)
			}
		})
	}
}

// takes is the list of keys in the loader's message for an unknown key
// that suggests none: `unknown key "..."; a server takes name, host, ...`.
var takes = regexp.MustCompile(`; (?:the file|defaults|a server|a principal|a role|a privilege profile|a grant|a discover entry|a discover entry's server) takes (.*)$`)

// TestKeysMatchTheLoader compares the keys each mapping of the schema
// describes with those the loader takes, as its message for an unknown key
// lists them: a key added to (or removed from) either fails here.
func TestKeysMatchTheLoader(t *testing.T) {
	s := readAll(t)
	const bogus = "zzzzzzzzzzzz"
	tests := []struct {
		name, file, schema string
		// refused are keys the loader lists and refuses here with a
		// message of their own.
		refused []string
	}{
		{"the file", "version: 1\n" + bogus + ": 1\n", "#", nil},
		{"defaults", "version: 1\ndefaults: {" + bogus + ": 1}\n", "#/$defs/settings", nil},
		{"a server", server(bogus + ": 1"), "#/$defs/server", nil},
		{"a principal", server("principals: [{name: a, type: user, " + bogus + ": 1}]"), "#/$defs/principal", nil},
		{"a role", server("roles: [{name: r, " + bogus + ": 1}]"), "#/$defs/role", nil},
		{"a privilege profile", "version: 1\nprivilegeProfiles:\n  p: {tables: [SELECT], " + bogus + ": 1}\n", "#/$defs/profile", nil},
		{"a grant", grant("to: readers, databases: [d], tables: [SELECT], " + bogus + ": 1"), "#/$defs/grant", nil},
		{"a discover entry", "version: 1\ndiscover:\n  - {subscription: " + sub + ", " + bogus + ": 1}\n", "#/$defs/discover", nil},
		{"a discover entry's server", "version: 1\ndiscover:\n  - {subscription: " + sub + ", server: {" + bogus + ": 1}}\n", "#/$defs/serverTemplate",
			[]string{"name", "host", "discovered"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := loadFile(t, tc.file)
			var errs spec.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("the loader says %v", err)
			}
			var loader []string
			for _, e := range errs {
				if m := takes.FindStringSubmatch(e.Msg); m != nil {
					loader = strings.Split(m[1], ", ")
				}
			}
			if loader == nil {
				t.Fatalf("no problem lists the keys %s takes: %v", tc.name, err)
			}
			loader = slices.DeleteFunc(loader, func(k string) bool { return slices.Contains(tc.refused, k) })
			slices.Sort(loader)
			_, m := s.at(t, desiredSchema, tc.schema)
			if got := propertyNames(m); !slices.Equal(got, loader) {
				t.Errorf("the schema describes %v, the loader takes %v", got, loader)
			}
			if m["additionalProperties"] != false {
				t.Errorf("the loader refuses unknown keys, and the schema has additionalProperties %v", m["additionalProperties"])
			}
		})
	}
}

// notOneOf is the list of words in the loader's message for a value that
// is not one of them.
var notOneOf = regexp.MustCompile(`is not one of (.*?)(?:; did you mean .*)?$`)

// TestEnumsMatchTheLoader compares each enum of the schema with the words
// the loader lists when a value is not one of them.
func TestEnumsMatchTheLoader(t *testing.T) {
	s := readAll(t)
	tests := []struct {
		name, file, schema string
		extra              []string // allowed by the schema beside the loader's list
	}{
		{"auth", server("auth: zzzzzzzz"), "#/$defs/auth", nil},
		{"credential", server("credential: zzzzzzzz"), "#/$defs/credential", nil},
		{"sslmode", server("sslmode: zzzzzzzz"), "#/$defs/sslmode", nil},
		{"cloud", server("cloud: zzzzzzzz"), "#/$defs/cloud", []string{""}},
		{"type", server("principals: [{name: a, type: zzzzzzzz}]"), "#/$defs/principal/properties/type", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := loadFile(t, tc.file)
			var errs spec.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("the loader says %v", err)
			}
			var loader []string
			for _, e := range errs {
				if m := notOneOf.FindStringSubmatch(e.Msg); m != nil {
					loader = strings.Split(strings.ReplaceAll(m[1], " or ", ", "), ", ")
				}
			}
			if loader == nil {
				t.Fatalf("no problem lists the values %s takes: %v", tc.name, err)
			}
			want := append(loader, tc.extra...)
			_, m := s.at(t, desiredSchema, tc.schema)
			var got []string
			for _, v := range m["enum"].([]any) {
				got = append(got, v.(string))
			}
			if !slices.Equal(got, want) {
				t.Errorf("the schema's enum is %q, the loader takes %q", got, want)
			}
		})
	}
}

// TestPrivilegesMatchTheLoader writes every privilege of every kind (and
// ALL, TEMP and some near misses) under every kind's key, in three cases,
// and checks that the schema accepts exactly what the loader accepts.
func TestPrivilegesMatchTheLoader(t *testing.T) {
	c := compile(t, false)
	words := []string{"ALL", "ALL PRIVILEGES", "all  privileges", "TEMP", " select ", "ALLPRIVILEGES", "PRIVILEGES", "READ", "SELECTS", "TEMPORARY TABLES"}
	for _, k := range spec.Kinds {
		words = append(words, spec.Privileges(k)...)
	}
	var variants []string
	for _, w := range words {
		variants = append(variants, w, strings.ToLower(w), strings.ToUpper(w[:1])+strings.ToLower(w[1:]))
	}
	slices.Sort(variants)
	variants = slices.Compact(variants)
	accepted := 0
	for _, k := range spec.Kinds {
		for _, v := range variants {
			file := grant("to: readers, databases: [d], " + string(k) + ": [\"" + v + "\"]")
			loaderOK := loadFile(t, file) == nil
			schemaErr := c.validateYAML(t, []byte(file))
			if loaderOK != (schemaErr == nil) {
				t.Errorf("%s: [%q]: the loader accepts it: %t; the schema: %v", k, v, loaderOK, schemaErr)
			}
			if loaderOK {
				accepted++
			}
		}
	}
	// Every privilege of each kind in three cases, ALL in its spellings,
	// and TEMP: a loader that accepts little would make this test empty.
	if accepted < 3*(3+2+8+3+1)+5*3*3 {
		t.Errorf("only %d privileges accepted", accepted)
	}
	// The examples of each kind are its privileges, and ALL.
	s := readAll(t)
	for _, k := range spec.Kinds {
		_, m := s.at(t, desiredSchema, "#/$defs/privileges/properties/"+string(k)+"/items")
		var got []string
		for _, v := range m["examples"].([]any) {
			got = append(got, v.(string))
		}
		want := append(slices.Clone(spec.Privileges(k)), "ALL")
		if k == spec.KindDatabase {
			want = append(slices.Clone(spec.Privileges(k)), "TEMP", "ALL")
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the examples are %q, want %q", k, got, want)
		}
	}
}

// TestYAMLToJSON pins the conversion the tests rely on.
func TestYAMLToJSON(t *testing.T) {
	got, err := yamlToJSON([]byte("a: 2024-01-01\nb: 0x1F\nc: yes\nd: {2024: [x]}\ne: &x {p: 1}\nf: {<<: *x, q: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":"2024-01-01","b":31,"c":"yes","d":{"2024":["x"]},"e":{"p":1},"f":{"p":1,"q":2}}`
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("got %s, want %s", got, want)
	}
}
