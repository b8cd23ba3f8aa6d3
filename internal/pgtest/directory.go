package pgtest

import (
	"context"
	"crypto/sha1"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
)

// DirectoryObject is an entry of the emulated Microsoft Graph: what
// pgaadauth_create_principal resolves a name against, and what
// pgaadauth_create_principal_with_oid checks an object type against.
type DirectoryObject struct {
	Name     string // a user's UPN, or the display name of a group or service principal
	Type     string // "user", "group" or "service"
	ObjectID string // "" means ObjectID(Name)
}

// ObjectID returns a stable object id for a name: a name-based (version 5)
// UUID, so that tests can predict the id of an object they seeded without
// giving one.
func ObjectID(name string) string {
	// A fixed namespace of this package's own.
	ns := [16]byte{0x6b, 0x1f, 0x52, 0x0e, 0x3a, 0x7d, 0x4c, 0x2b, 0x9e, 0x51, 0x0a, 0xd4, 0x8c, 0x27, 0x63, 0xf0}
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// SeedDirectory adds objects to the emulated directory, replacing any entry
// of the same name.
func (c *Cluster) SeedDirectory(ctx context.Context, objects ...DirectoryObject) error {
	conn, err := c.Super(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, o := range objects {
		if err := addDirectoryObject(ctx, conn, o); err != nil {
			return err
		}
	}
	return nil
}

// AddDirectoryObject adds one object to the emulated directory, as
// SeedDirectory; objectID "" means ObjectID(name).
func (c *Cluster) AddDirectoryObject(t testing.TB, name, typ, objectID string) {
	t.Helper()
	if err := c.SeedDirectory(context.Background(), DirectoryObject{Name: name, Type: typ, ObjectID: objectID}); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// InjectFault makes the next `times` create calls for name fail as a
// transient Microsoft Graph error does on Azure: SQLSTATE 0LP01 "An
// unexpected error occurred while trying to validate user.". Calls after
// those succeed. A new fault for the same name replaces the old one.
func (c *Cluster) InjectFault(ctx context.Context, name string, times int) error {
	conn, err := c.Super(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pgaadauth_emul.inject_fault($1, $2)`, name, times); err != nil {
		return fmt.Errorf("inject a directory fault for %q: %w", name, err)
	}
	return nil
}

// InjectDirectoryFault is InjectFault for tests.
func (c *Cluster) InjectDirectoryFault(t testing.TB, name string, times int) {
	t.Helper()
	if err := c.InjectFault(context.Background(), name, times); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

func addDirectoryObject(ctx context.Context, conn *pgx.Conn, o DirectoryObject) error {
	id := o.ObjectID
	if id == "" {
		id = ObjectID(o.Name)
	}
	_, err := conn.Exec(ctx, `
		INSERT INTO pgaadauth_emul.directory (name, objectid, type) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET objectid = excluded.objectid, type = excluded.type`,
		o.Name, id, o.Type)
	if err != nil {
		return fmt.Errorf("add %s %q to the directory: %w", o.Type, o.Name, err)
	}
	return nil
}
