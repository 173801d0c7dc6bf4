package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// Processes on one database tell each other of changes with NOTIFY on one
// channel. NOTIFY reaches only sessions of the same database, so several
// Parley databases on one server do not hear each other. Each payload is
// the sender's instance id, a space, and the message: a process skips its
// own, which reach it too because its listener is a session of its own.
const channel = "parley"

// listenCheck is how long the listener waits in silence before it checks
// that its connection still answers: a server that vanished without closing
// the socket (a network cut) would otherwise leave it waiting for ever.
const listenCheck = 15 * time.Second

// listenerName is the listener's application_name, which pg_stat_activity
// shows: one such session per running process.
const listenerName = "parley listener"

// newInstanceID names this process among its peers: random, so that two
// processes on one machine, or one restarted, are never taken for another.
func newInstanceID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Announce sends msg to the other processes with pg_notify, which PostgreSQL
// delivers once this statement commits, in order with this process's other
// announcements.
func (db *DB) Announce(ctx context.Context, msg []byte) error {
	if len(msg) > moderation.MaxAnnounce {
		return fmt.Errorf("announce: %d bytes is more than %d", len(msg), moderation.MaxAnnounce)
	}
	_, err := db.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, db.self+" "+string(msg))
	return mapError(err)
}

// Listen LISTENs on a connection of its own, outside the pool: a LISTEN
// belongs to a session, and a pooled connection serves other work between
// uses. Its errors are pgx's own, for the log: nobody's request failed.
func (db *DB) Listen(ctx context.Context, deliver func([]byte), resync func()) error {
	config := db.pool.Config().ConnConfig // a copy
	config.RuntimeParams["application_name"] = listenerName
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("listen: %w", err)
	}
	defer func() {
		closing, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closing)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("listen: %w", err)
	}
	resync()
	for {
		wait, cancel := context.WithTimeout(ctx, listenCheck)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			if from, msg, ok := strings.Cut(n.Payload, " "); ok && from != db.self {
				deliver([]byte(msg))
			}
		case errors.Is(wait.Err(), context.DeadlineExceeded):
			// Silence: a timed-out wait leaves the connection usable.
			check, cancel := context.WithTimeout(ctx, listenCheck)
			err := conn.Ping(check)
			cancel()
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("listen: the connection stopped answering: %w", err)
			}
		default:
			return fmt.Errorf("listen: %w", err)
		}
	}
}

// Lease takes or renews the named lease in one statement: the upsert
// writes only when the row is this process's or its time ran out, and the
// row lock it takes makes concurrent callers wait for each other, so one
// wins. Times are the database's, so the processes' clocks need not agree.
func (db *DB) Lease(ctx context.Context, name string, period time.Duration) (bool, error) {
	var held bool
	err := db.pool.QueryRow(ctx, `
		INSERT INTO leases (name, holder, until) VALUES ($1, $2, now() + $3 * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE leases.holder = excluded.holder OR leases.until <= now()
		RETURNING true`, name, db.self, period.Microseconds()).Scan(&held)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, mapError(err)
	}
	return held, nil
}
