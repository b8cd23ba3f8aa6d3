package inspect

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/spec"
)

// go test -run '^$' -bench ReadDatabases -benchtime 20x ./pkg/inspect/
//
// One ReadDatabase per database, one after the other, of 5 databases of 3
// schemas of 2,000 tables, 200 sequences and 200 functions each, with the
// grants of a reader, a writer and PUBLIC on all of them.
func BenchmarkReadDatabases(b *testing.B) {
	const databases, schemas, tables, others = 5, 3, 2000, 200
	c := pgtest.New(b)
	for _, r := range []string{"app_owner", "reader", "writer"} {
		c.SuperExec(b, `CREATE ROLE `+r+` NOLOGIN`)
	}
	c.SuperExec(b, `GRANT app_owner TO "pgadmin@contoso.com"`)
	c.CreateDatabase(b, "tmpl", "app_owner")
	start := time.Now()
	var setup []string
	for i := 1; i <= schemas; i++ {
		s := fmt.Sprintf("s%d", i)
		setup = append(setup,
			`CREATE SCHEMA `+s+` AUTHORIZATION app_owner`,
			`SET ROLE app_owner`,
			fmt.Sprintf(`DO $$ BEGIN
			   FOR i IN 1..%d LOOP EXECUTE format('CREATE TABLE %s.t%%s (a int)', i); END LOOP;
			   FOR i IN 1..%d LOOP
			     EXECUTE format('CREATE SEQUENCE %s.q%%s', i);
			     EXECUTE format('CREATE FUNCTION %s.f%%s(integer) RETURNS integer LANGUAGE sql AS ''SELECT 1''', i);
			   END LOOP; END $$`, tables, s, others, s, s),
			`GRANT USAGE ON SCHEMA `+s+` TO reader, writer`,
			`GRANT SELECT ON ALL TABLES IN SCHEMA `+s+` TO reader`,
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA `+s+` TO writer`,
			`REVOKE DELETE ON `+s+`.t7 FROM writer`,
			`GRANT USAGE ON ALL SEQUENCES IN SCHEMA `+s+` TO writer`,
			`ALTER DEFAULT PRIVILEGES IN SCHEMA `+s+` GRANT SELECT ON TABLES TO reader`,
			`RESET ROLE`,
		)
	}
	c.SuperExecIn(b, "tmpl", setup...)
	names := []string{}
	for i := 1; i <= databases; i++ {
		db := fmt.Sprintf("d%d", i)
		c.SuperExec(b, `CREATE DATABASE `+db+` TEMPLATE tmpl OWNER app_owner`)
		b.Cleanup(func() { c.SuperExec(b, `DROP DATABASE IF EXISTS `+db+` WITH (FORCE)`) })
		names = append(names, db)
	}
	b.Logf("setup: %v", time.Since(start))
	scope := func(db string) Scope {
		return Scope{Database: db, Schemas: []string{"s1", "s2", "s3"},
			Grantees: []string{spec.Public, "reader", "writer"}, Owners: []string{"app_owner"}}
	}
	ctx := context.Background()

	b.Run("connected", func(b *testing.B) {
		conns := map[string]*pgx.Conn{}
		for _, db := range names {
			conns[db], _ = c.AdminConnIn(b, db)
		}
		for b.Loop() {
			for _, db := range names {
				if _, _, err := ReadDatabase(ctx, conns[db], scope(db)); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("signing-in", func(b *testing.B) {
		for b.Loop() {
			for _, db := range names {
				cfg := c.AdminConfig(b)
				cfg.Database = db
				cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
				conn, err := pgx.ConnectConfig(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := ReadDatabase(ctx, conn, scope(db)); err != nil {
					b.Fatal(err)
				}
				conn.Close(ctx)
			}
		}
	})
}

// go test -run '^$' -bench PostgresRead -benchtime 20x ./pkg/inspect/
//
// The postgres read of a server of 10,000 principals, whole and the
// statements this package added to it alone (role comments and
// databases): they must not grow with the principals.
func BenchmarkPostgresRead(b *testing.B) {
	const principals = 10000
	c := pgtest.New(b)
	conn, _ := c.AdminConn(b)
	ctx := context.Background()
	for start := 0; start < principals; start += 1000 {
		batch := &pgx.Batch{}
		for i := start; i < min(principals, start+1000); i++ {
			name := fmt.Sprintf("user%05d@contoso.com", i)
			batch.Queue(`SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, 'user', false, false)`, name, pgtest.ObjectID(name))
		}
		if err := conn.SendBatch(ctx, batch).Close(); err != nil {
			b.Fatal(err)
		}
	}
	c.SuperExec(b, `ANALYZE`)
	if s, err := Read(ctx, conn); err != nil || len(s.principals) != principals+1 {
		b.Fatalf("%d principals (%v), want %d and the administrator", len(s.principals), err, principals)
	}
	b.Run("whole", func(b *testing.B) {
		for b.Loop() {
			if _, err := Read(ctx, conn); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("added", func(b *testing.B) {
		for b.Loop() {
			batch := &pgx.Batch{}
			batch.Queue(roleCommentsSQL)
			batch.Queue(databasesSQL)
			if err := conn.SendBatch(ctx, batch).Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
