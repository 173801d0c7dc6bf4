// Package storage opens the database that --data names. The backends live
// beside it: storage/bolt (a file, one process) and storage/postgres (a
// postgres:// URL, any number of processes).
package storage

import (
	"context"
	"net/url"
	"strings"

	"parley/moderation"
	"parley/storage/bolt"
	"parley/storage/postgres"
)

// Open opens the database data names: a postgres:// URL, or a file path
// (created if missing).
func Open(ctx context.Context, data string) (moderation.Store, error) {
	if IsURL(data) {
		return postgres.Open(ctx, data)
	}
	return bolt.Open(data)
}

// IsURL reports whether data names a PostgreSQL database rather than a file.
func IsURL(data string) bool {
	return strings.HasPrefix(data, "postgres://") || strings.HasPrefix(data, "postgresql://")
}

// Redacted is data as logs and messages may show it: a URL loses its
// password, a file path stays as it is.
func Redacted(data string) string {
	if !IsURL(data) {
		return data
	}
	u, err := url.Parse(data)
	if err != nil {
		return "postgres://(unreadable URL)"
	}
	return u.Redacted()
}
