// Package storage opens the database that --data names. The backends live
// beside it: storage/bolt (a file, one process) and storage/postgres (a
// postgres:// URL, any number of processes).
package storage

import (
	"context"

	"parley/moderation"
	"parley/storage/bolt"
)

// Open opens the database data names: a file path (created if missing).
func Open(ctx context.Context, data string) (moderation.Store, error) {
	return bolt.Open(data)
}
