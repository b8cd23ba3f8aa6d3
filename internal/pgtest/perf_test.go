package pgtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// A create must cost O(log n) in the number of principals: every look-up it
// makes uses an index, never a scan, even once PL/pgSQL caches its plans.
func TestCreateUsesIndexesOnly(t *testing.T) {
	c := New(t)
	const n = 50
	objects := make([]DirectoryObject, n)
	for i := range objects {
		objects[i] = DirectoryObject{Name: fmt.Sprintf("user%d@contoso.com", i), Type: "user"}
	}
	ctx := context.Background()
	if err := c.SeedDirectory(ctx, objects...); err != nil {
		t.Fatal(err)
	}
	c.InjectDirectoryFault(t, "user0@contoso.com", 1)
	// Statistics make the planner see the tables as the tiny things they
	// are, where a scan is cheapest.
	c.SuperExec(t, `ANALYZE pgaadauth_emul.directory, pgaadauth_emul.principals, pgaadauth_emul.faults`)
	admin := adminConn(t, c)
	before := scanCounts(t, c)
	_, _ = admin.Exec(ctx, `SELECT pgaadauth_create_principal('user0@contoso.com', false, false)`) // the fault
	for i, o := range objects {
		if i%2 == 0 {
			mustExec(t, admin, `SELECT pgaadauth_create_principal($1, false, false)`, o.Name)
		} else {
			mustExec(t, admin, `SELECT pgaadauth_create_principal_with_oid($1, $2, 'user', $3, false)`, o.Name, ObjectID(o.Name), i%3 == 0)
		}
	}
	admin.Close(ctx) // a backend flushes its statistics when it exits
	want := map[string]int64{"directory": 0, "principals": 0, "faults": 0}
	var got map[string]int64
	for deadline := time.Now().Add(10 * time.Second); ; {
		after := scanCounts(t, c)
		got = map[string]int64{}
		indexed := true
		for table, a := range after {
			got[table] = a.seq - before[table].seq
			indexed = indexed && a.idx > before[table].idx
		}
		if indexed || time.Now().After(deadline) {
			if !indexed {
				t.Errorf("index scans before %v, after %v: the statistics never arrived", before, after)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sequential scans during %d creates (-want +got):\n%s", n, diff)
	}
}

type scans struct{ seq, idx int64 }

func scanCounts(t *testing.T, c *Cluster) map[string]scans {
	t.Helper()
	conn := c.SuperIn(t, "postgres")
	rows, _ := conn.Query(context.Background(), `
		SELECT relname::text, seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables
		WHERE schemaname = 'pgaadauth_emul'`)
	counts := map[string]scans{}
	var name string
	var s scans
	_, err := pgx.ForEachRow(rows, []any{&name, &s.seq, &s.idx}, func() error {
		counts[name] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	return counts
}

// seed creates n principals as the administrator, in batches.
func seed(tb testing.TB, conn *pgx.Conn, prefix string, n int) {
	tb.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += 1000 {
		b := &pgx.Batch{}
		for i := start; i < min(n, start+1000); i++ {
			name := fmt.Sprintf("%s%05d@contoso.com", prefix, i)
			b.Queue(`SELECT pgaadauth_create_principal_with_oid($1, $2, 'user', false, false)`, name, ObjectID(name))
		}
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			tb.Fatal(err)
		}
	}
}

// go test -bench CreatePrincipal -benchtime 10000x ./internal/pgtest/
func BenchmarkCreatePrincipal(b *testing.B) {
	c := New(b)
	conn, err := pgx.ConnectConfig(context.Background(), c.AdminConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	b.ResetTimer()
	seed(b, conn, "bench", b.N)
}

func BenchmarkListPrincipals10k(b *testing.B) {
	c := New(b)
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, c.AdminConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	seed(b, conn, "list", 10000)
	b.ResetTimer()
	for range b.N {
		rows, _ := conn.Query(ctx, `SELECT * FROM pgaadauth_list_principals(false)`)
		var p principal
		n := 0
		dest := []any{&p.Name, &p.Type, &p.ObjectID, &p.TenantID, &p.IsMFA, &p.IsAdmin}
		if _, err := pgx.ForEachRow(rows, dest, func() error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 10001 {
			b.Fatalf("%d principals, want 10001", n)
		}
	}
}
