package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFiles are the schema's steps, NNN_name.sql, numbered from 1
// without gaps. Append, never edit: a database records the checksum of each
// step it ran, and refuses to start when one changed.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// embedded is the binary's schema, read once; a bad file name is a bug in
// this binary, caught by every test that opens a database.
var embedded, embeddedErr = loadMigrations(mustSub(migrationFiles, "migrations"))

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// migrationLock is the key of the session-level advisory lock held while
// migrating: two instances starting at once take turns, and the second finds
// nothing left to do. No other code may use this key.
const migrationLock int64 = 0x7061726c6579_01 // "parley", 1

type migration struct {
	version  int
	name     string // the file name
	sql      string
	checksum string // hex SHA-256 of sql
}

var migrationName = regexp.MustCompile(`^(\d+)_[a-z0-9_]+\.sql$`)

// loadMigrations reads the *.sql files of fsys, in version order.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		m := migrationName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migration file %s: want NNN_name.sql", name)
		}
		version, _ := strconv.Atoi(m[1])
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		ms = append(ms, migration{version: version, name: path.Base(name), sql: string(data), checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration file %s: want version %d (numbered from 1, no gaps or repeats)", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate brings the schema up to the last of ms, each step in its own
// transaction, under the migration lock.
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []migration) (err error) {
	if embeddedErr != nil {
		return embeddedErr
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return mapError(err)
	}
	defer func() {
		// The lock belongs to the session: a connection that could not
		// release it must not go back to the pool still holding it.
		if _, uerr := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock); uerr != nil {
			_ = conn.Conn().Close(context.Background())
		}
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("wait for the schema lock: %w", mapError(err))
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS parley_schema (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		checksum   text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("create the schema version table: %w", mapError(err))
	}
	applied, err := appliedMigrations(ctx, conn.Conn())
	if err != nil {
		return err
	}
	if err := checkApplied(applied, ms); err != nil {
		return err
	}
	for _, m := range ms[len(applied):] {
		err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{}, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO parley_schema (version, name, checksum) VALUES ($1, $2, $3)",
				m.version, m.name, m.checksum)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate to schema %d (%s): %w", m.version, m.name, mapError(err))
		}
	}
	return nil
}

type appliedMigration struct {
	version  int
	checksum string
}

func appliedMigrations(ctx context.Context, conn *pgx.Conn) ([]appliedMigration, error) {
	rows, err := conn.Query(ctx, "SELECT version, checksum FROM parley_schema ORDER BY version")
	if err != nil {
		return nil, mapError(err)
	}
	applied, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (appliedMigration, error) {
		var a appliedMigration
		err := row.Scan(&a.version, &a.checksum)
		return a, err
	})
	return applied, mapError(err)
}

// checkApplied refuses a database this binary must not run on: one with a
// newer schema, or one whose steps differ from this binary's.
func checkApplied(applied []appliedMigration, ms []migration) error {
	if n := len(applied); n > 0 && applied[n-1].version > len(ms) {
		return fmt.Errorf("the database schema is version %d but this parley knows up to %d: upgrade parley before starting it on this database",
			applied[n-1].version, len(ms))
	}
	for i, a := range applied {
		if a.version != i+1 {
			return fmt.Errorf("the database schema records version %d where %d was expected: the parley_schema table was edited by hand", a.version, i+1)
		}
		if a.checksum != ms[i].checksum {
			return fmt.Errorf("migration %d (%s) was changed after it was applied: this binary's schema differs from the database's; restore the file or use a matching parley", a.version, ms[i].name)
		}
	}
	return nil
}
