// Package testdb gives the server, notify, cli and end-to-end tests the
// database they run against, so that one suite proves every feature on both
// backends through the doors users use: a bbolt file in t.TempDir() by
// default, or a fresh PostgreSQL database (storage/pgtest: PARLEY_TEST_POSTGRES
// or a throwaway server) when PARLEY_TEST_STORE=postgres. Either is opened
// with storage.Open, as parley opens --data.
//
// Tests of what only bbolt has (its file lock, upgrade fixtures, a full
// disk, crash files, batch tuning) keep opening bbolt themselves.
//
// A package that uses it runs its tests through Main, which stops the
// PostgreSQL server they may have started:
//
//	func TestMain(m *testing.M) { testdb.Main(m) }
package testdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"parley/moderation"
	"parley/storage"
	"parley/storage/pgtest"
	"parley/storage/postgres"
)

// EnvStore names the environment variable that picks the backend:
// "postgres", or "" (or "bolt") for bbolt.
const EnvStore = "PARLEY_TEST_STORE"

// Postgres reports whether tests run against PostgreSQL. An unknown value
// panics: a typo must not quietly test bbolt again.
func Postgres() bool {
	switch v := os.Getenv(EnvStore); v {
	case "", "bolt", "bbolt":
		return false
	case "postgres", "postgresql":
		return true
	default:
		panic(fmt.Sprintf("testdb: %s=%q: want postgres, or bolt (the default)", EnvStore, v))
	}
}

// Data returns what --data names for a fresh, empty database of this test:
// a file path in t.TempDir(), or the URL of a database dropped when the test
// ends (the test skips when PostgreSQL is not installed, as pgtest does).
func Data(t testing.TB) string {
	t.Helper()
	if Postgres() {
		return pgtest.Prepared(t, migrated)
	}
	return filepath.Join(t.TempDir(), "parley.db")
}

// migrated brings a database's schema up to date, as storage.Open does, so
// that each test's database starts as a copy of one already migrated.
func migrated(ctx context.Context, dsn string) error {
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	return db.Close()
}

// Open opens a fresh database with storage.Open and closes it when the test
// ends.
func Open(t testing.TB) moderation.Store {
	t.Helper()
	return OpenData(t, Data(t))
}

// OpenData opens data with storage.Open and closes it when the test ends.
func OpenData(t testing.TB, data string) moderation.Store {
	t.Helper()
	db, err := storage.Open(context.Background(), data)
	if err != nil {
		hint := ""
		if storage.IsURL(data) {
			hint = " (storage.Open opens PostgreSQL once every method of moderation.Store is merged)"
		}
		t.Fatalf("testdb: open %s: %v%s", storage.Redacted(data), err, hint)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Main runs a package's tests and then stops the PostgreSQL server they
// started, if any.
func Main(m *testing.M) { pgtest.Main(m) }
