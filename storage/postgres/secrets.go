package postgres

import (
	"context"
	"crypto/rand"

	"github.com/jackc/pgx/v5"
)

// Secret returns the named server secret, creating size random bytes the
// first time. Instances starting at once agree on one value: the first
// insert wins, the others keep theirs to themselves and read the winner's.
func (db *DB) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var secret []byte
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", name, fresh); err != nil {
			return err
		}
		// A new statement: under READ COMMITTED it sees the row of a
		// concurrent insert that the one above waited for.
		return tx.QueryRow(ctx, "SELECT value FROM secrets WHERE name = $1", name).Scan(&secret)
	})
	if err != nil {
		return nil, err
	}
	return secret, nil
}

// RotateSecret replaces the named secret with size fresh random bytes.
func (db *DB) RotateSecret(ctx context.Context, name string, size int) error {
	secret := make([]byte, size)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, secret)
		return err
	})
}
