package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// Two transactions that lock two rows in opposite orders deadlock; the one
// PostgreSQL aborts runs again, and both commit.
func TestTxRetriesADeadlock(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	if _, err := db.pool.Exec(ctx, "CREATE TABLE pair (id int PRIMARY KEY, v int); INSERT INTO pair VALUES (1, 0), (2, 0)"); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	var both sync.WaitGroup
	both.Add(2)
	run := func(first, second int) error {
		var once sync.Once
		return db.tx(ctx, func(tx pgx.Tx) error {
			attempts.Add(1)
			if _, err := tx.Exec(ctx, "UPDATE pair SET v = v + 1 WHERE id = $1", first); err != nil {
				return err
			}
			once.Do(func() { both.Done(); both.Wait() }) // each holds its first row
			_, err := tx.Exec(ctx, "UPDATE pair SET v = v + 1 WHERE id = $1", second)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- run(1, 2) }()
	go func() { errs <- run(2, 1) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := attempts.Load(); n < 3 {
		t.Errorf("%d attempts, want at least 3 (one retried)", n)
	}
	var sum int
	if err := db.pool.QueryRow(ctx, "SELECT sum(v) FROM pair").Scan(&sum); err != nil || sum != 4 {
		t.Fatalf("sum = %d (%v), want 4: each transaction committed once", sum, err)
	}
}

// A callback's error rolls back everything it wrote and comes back as is.
func TestTxRollsBackOnError(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO secrets (name, value) VALUES ('ann', '\\x00')"); err != nil {
			return err
		}
		return moderation.ErrForbidden
	})
	if !errors.Is(err, moderation.ErrForbidden) {
		t.Fatalf("tx = %v, want the callback's error", err)
	}
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM secrets").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d secrets (%v) after a failed transaction, want 0", n, err)
	}
}

func TestTxMapsErrors(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	insert := func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO secrets (name, value) VALUES ('ann', '\\x00')")
		return err
	}
	if err := db.tx(ctx, insert); err != nil {
		t.Fatal(err)
	}
	if err := db.tx(ctx, insert); !errors.Is(err, moderation.ErrConflict) {
		t.Errorf("a second insert of one key: %v, want ErrConflict", err)
	}
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var doc []byte
		return tx.QueryRow(ctx, "SELECT value FROM secrets WHERE name = 'bob'").Scan(&doc)
	})
	if !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("reading a missing row: %v, want ErrNotFound", err)
	}
	if moderation.ErrorCode(err) != moderation.CodeNotFound {
		t.Errorf("code of a missing row = %s, want %s", moderation.ErrorCode(err), moderation.CodeNotFound)
	}
}

func TestOpenUnreachableIsUnavailable(t *testing.T) {
	_, err := Open(context.Background(), "postgres://parley@/parley?host="+t.TempDir())
	if err == nil {
		t.Fatal("Open of a server that is not there succeeded")
	}
	if got := moderation.ErrorCode(err); got != moderation.CodeUnavailable {
		t.Fatalf("code = %s (%v), want %s", got, err, moderation.CodeUnavailable)
	}
}

func TestOpenBadDSN(t *testing.T) {
	_, err := Open(context.Background(), "postgres://parley:secret@host:notaport/db")
	if err == nil {
		t.Fatal("Open of a malformed URL succeeded")
	}
	if got := err.Error(); strings.Contains(got, "secret") {
		t.Fatalf("the error repeats the password: %s", got)
	}
}
