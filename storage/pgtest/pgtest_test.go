package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"parley/storage/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Each DSN is a database of its own: what one test writes, another never sees.
func TestDSNGivesEachTestAnEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	a, b := pgtest.DSN(t), pgtest.DSN(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	connA, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer connA.Close(ctx)
	if _, err := connA.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	connB, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer connB.Close(ctx)
	var n int
	if err := connB.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("a new database has %d tables, want 0", n)
	}
}

// The database is dropped when its test ends, even with a connection left open.
func TestDSNDropsTheDatabaseAfterTheTest(t *testing.T) {
	ctx := context.Background()
	var dsn string
	t.Run("user", func(t *testing.T) {
		dsn = pgtest.DSN(t)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn // left open on purpose
	})
	_, err := pgx.Connect(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("connecting after the test ended: %v, want: database does not exist", err)
	}
}
