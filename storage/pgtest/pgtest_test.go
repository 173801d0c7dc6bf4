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

// A prepared database is a copy of the template: what prepare wrote is in
// each, and each is its own.
func TestPreparedCopiesTheTemplate(t *testing.T) {
	exec := func(ctx context.Context, dsn, sql string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	prepare := func(ctx context.Context, dsn string) error {
		return exec(ctx, dsn, "CREATE TABLE prepared (n int); INSERT INTO prepared VALUES (1)")
	}
	ctx := context.Background()
	a, b := pgtest.Prepared(t, prepare), pgtest.Prepared(t, prepare)
	if a == b {
		t.Fatalf("two tests got one database: %s", a)
	}
	if err := exec(ctx, a, "INSERT INTO prepared VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	for dsn, want := range map[string]int{a: 2, b: 1} {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = conn.QueryRow(ctx, "SELECT count(*) FROM prepared").Scan(&n)
		_ = conn.Close(ctx)
		if err != nil || n != want {
			t.Errorf("%d rows (%v), want %d", n, err, want)
		}
	}
}
