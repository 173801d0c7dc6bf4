package postgres

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"parley/storage/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens a fresh database and closes it when the test ends. Each is a
// copy of one migrated at the first call, which is quicker than migrating
// each; the migration tests that need an empty one use pgtest.DSN.
func open(t *testing.T) (*DB, string) {
	t.Helper()
	dsn := pgtest.Prepared(t, func(ctx context.Context, dsn string) error {
		db, err := Open(ctx, dsn)
		if err != nil {
			return err
		}
		return db.Close()
	})
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, dsn
}

type appliedRow struct {
	version   int
	checksum  string
	appliedAt time.Time
}

func schemaRows(t *testing.T, db *DB) []appliedRow {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), "SELECT version, checksum, applied_at FROM parley_schema ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []appliedRow
	for rows.Next() {
		var r appliedRow
		if err := rows.Scan(&r.version, &r.checksum, &r.appliedAt); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	if embeddedErr != nil {
		t.Fatal(embeddedErr)
	}
	if len(embedded) == 0 || embedded[0].name != "001_init.sql" {
		t.Fatalf("embedded migrations = %v, want 001_init.sql first", embedded)
	}
}

// Several instances starting at once on an empty database: each migration
// runs once, and every instance starts.
func TestConcurrentOpenAppliesEachMigrationOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	const instances = 6
	dbs := make([]*DB, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() { dbs[i], errs[i] = Open(context.Background(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	got := schemaRows(t, dbs[0])
	if len(got) != len(embedded) {
		t.Fatalf("parley_schema has %d rows, want %d", len(got), len(embedded))
	}
	for i, r := range got {
		if r.version != i+1 || r.checksum != embedded[i].checksum {
			t.Errorf("row %d = version %d checksum %s, want %d %s", i, r.version, r.checksum, i+1, embedded[i].checksum)
		}
	}
}

func TestReopenIsANoOp(t *testing.T) {
	db, dsn := open(t)
	before := schemaRows(t, db)
	again, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	after := schemaRows(t, again)
	if len(after) != len(before) {
		t.Fatalf("reopening: %d rows, want %d", len(after), len(before))
	}
	for i := range after {
		if !after[i].appliedAt.Equal(before[i].appliedAt) {
			t.Errorf("reopening applied migration %d again", after[i].version)
		}
	}
}

func TestChangedMigrationRefusesToStart(t *testing.T) {
	db, dsn := open(t)
	if _, err := db.pool.Exec(context.Background(), "UPDATE parley_schema SET checksum = 'edited' WHERE version = 1"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dsn)
	if err == nil || !strings.Contains(err.Error(), "migration 1 (001_init.sql) was changed after it was applied") {
		t.Fatalf("Open = %v, want: migration 1 was changed after it was applied", err)
	}
}

func TestNewerSchemaRefusesToStart(t *testing.T) {
	db, dsn := open(t)
	newer := len(embedded) + 1
	if _, err := db.pool.Exec(context.Background(), "INSERT INTO parley_schema (version, name, checksum) VALUES ($1, 'from_the_future.sql', 'x')", newer); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dsn)
	want := "the database schema is version 2 but this parley knows up to 1: upgrade parley before starting it on this database"
	if newer != 2 {
		want = "the database schema is version"
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open = %v, want %q", err, want)
	}
}

// A later binary applies only its new steps; a failing step changes nothing
// and is not recorded.
func TestMigrateStepByStep(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	v1 := fstest.MapFS{"001_a.sql": {Data: []byte("CREATE TABLE a (x int);")}}
	v2 := fstest.MapFS{"001_a.sql": v1["001_a.sql"], "002_b.sql": {Data: []byte("CREATE TABLE b (y int); INSERT INTO a VALUES (1);")}}
	broken := fstest.MapFS{"001_a.sql": v1["001_a.sql"], "002_b.sql": {Data: []byte("CREATE TABLE b (y int); INSERT INTO nowhere VALUES (1);")}}
	load := func(fsys fstest.MapFS) []migration {
		ms, err := loadMigrations(fsys)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	if err := migrate(ctx, pool, load(v1)); err != nil {
		t.Fatal(err)
	}
	err = migrate(ctx, pool, load(broken))
	if err == nil || !strings.Contains(err.Error(), "migrate to schema 2 (002_b.sql)") {
		t.Fatalf("a failing step: %v, want an error naming it", err)
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('b') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Fatalf("after a failing step, table b exists = %v (%v), want rolled back", exists, err)
	}
	if err := migrate(ctx, pool, load(v2)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM a").Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows in a = %d (%v), want 1: step 2 once", n, err)
	}
	if err := migrate(ctx, pool, load(v2)); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM a").Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows in a = %d (%v) after migrating again, want 1", n, err)
	}
}

func TestLoadMigrationsRefusesBadNumbering(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"001_a.sql": {}, "003_c.sql": {}},
		"repeat":   {"001_a.sql": {}, "001_b.sql": {}},
		"bad name": {"first.sql": {}},
		"from 2":   {"002_a.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations succeeded, want an error", name)
		}
	}
}
