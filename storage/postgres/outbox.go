package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// The notification outbox. Comment writes append to outbox_changes in their
// own transaction; each process's notify worker plans changes into
// deliveries and sends those. Several workers share the tables: planning a
// change deletes its row, so only the worker whose delete found the row
// queues anything, and DueDeliveries holds what it returns (held_until) so
// that no two workers send one delivery.

// holdDeliveries is how long DueDeliveries keeps what it returned from other
// callers when neither FinishDeliveries nor SaveDelivery comes (the caller
// crashed mid-send): long enough for any send to time out, short enough that
// a crash delays mail by minutes, not hours. The same as bbolt's.
const holdDeliveries = 5 * time.Minute

// Changes returns up to limit transitions not yet planned, oldest first.
func (db *DB) Changes(ctx context.Context, limit int) ([]moderation.Transition, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, _ := db.pool.Query(ctx, "SELECT seq, doc FROM outbox_changes ORDER BY seq LIMIT $1", limit)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (moderation.Transition, error) {
		var seq int64
		var doc []byte
		var t moderation.Transition
		if err := row.Scan(&seq, &doc); err != nil {
			return t, err
		}
		if err := json.Unmarshal(doc, &t); err != nil {
			return t, fmt.Errorf("change %d: %w", seq, err)
		}
		t.Seq = uint64(seq) // the row's number is the one PlanChange takes
		return t, nil
	})
	return out, mapError(err)
}

// PlanChange replaces the transition seq by the deliveries it calls for, in
// one transaction: a crash leaves either the change or its deliveries. Of
// workers planning one transition at once, the first delete wins; the
// others delete nothing (the row is gone when their delete gets to it) and
// queue nothing.
func (db *DB) PlanChange(ctx context.Context, seq uint64, ds []*moderation.Delivery) error {
	// enqueue moves a delivery joining a group to the group's due time; a
	// retried attempt starts again from the caller's.
	due := make([]time.Time, len(ds))
	for i, d := range ds {
		due[i] = d.Due
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		for i, d := range ds {
			d.Due = due[i]
		}
		tag, err := tx.Exec(ctx, "DELETE FROM outbox_changes WHERE seq = $1", int64(seq))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return enqueue(ctx, tx, ds)
	})
}

// enqueue adds deliveries to the outbox in tx and numbers each (d.Seq). One
// joining a group that is already waiting (a member never tried) takes that
// group's due time, so that the group goes out as one, as in bbolt. Any
// write that owes a notification calls it in its own transaction.
func enqueue(ctx context.Context, tx pgx.Tx, ds []*moderation.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	var groups []string
	for _, d := range ds {
		if d.Group != "" && !slices.Contains(groups, d.Group) {
			groups = append(groups, d.Group)
		}
	}
	// One round trip for the numbers and the groups' due times.
	var seqs []int64
	groupDue := map[string]time.Time{}
	b := &pgx.Batch{}
	b.Queue("SELECT nextval(pg_get_serial_sequence('outbox_deliveries', 'seq')) FROM generate_series(1, $1)", len(ds)).
		Query(func(rows pgx.Rows) error {
			var err error
			seqs, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			return err
		})
	if len(groups) > 0 {
		b.Queue(`SELECT DISTINCT ON (grp) grp, doc FROM outbox_deliveries
			WHERE grp = ANY($1) AND status = 'pending' ORDER BY grp, seq DESC`, groups).
			Query(func(rows pgx.Rows) error {
				var grp string
				var doc []byte
				_, err := pgx.ForEachRow(rows, []any{&grp, &doc}, func() error {
					var d moderation.Delivery
					if err := json.Unmarshal(doc, &d); err != nil {
						return fmt.Errorf("delivery of group %q: %w", grp, err)
					}
					groupDue[grp] = d.Due
					return nil
				})
				return err
			})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if len(seqs) != len(ds) {
		return fmt.Errorf("outbox: %d sequence numbers for %d deliveries", len(seqs), len(ds))
	}
	slices.Sort(seqs)
	rows := make([]deliveryRow, len(ds))
	for i, d := range ds {
		if d.Group != "" {
			if due, ok := groupDue[d.Group]; ok {
				d.Due = due
			} else if !d.Failed() && d.Attempts == 0 {
				groupDue[d.Group] = d.Due // the next of this call joins it
			}
		}
		d.Seq = uint64(seqs[i])
		r, err := rowOf(d)
		if err != nil {
			return err
		}
		rows[i] = r
	}
	_, err := tx.Exec(ctx, `INSERT INTO outbox_deliveries (seq, grp, due, status, failed_at, doc)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::timestamptz[], $6::jsonb[])`,
		column(rows, func(r deliveryRow) int64 { return r.seq }),
		column(rows, func(r deliveryRow) string { return r.grp }),
		column(rows, func(r deliveryRow) time.Time { return r.due }),
		column(rows, func(r deliveryRow) string { return r.status }),
		column(rows, func(r deliveryRow) *time.Time { return r.failedAt }),
		column(rows, func(r deliveryRow) string { return string(r.doc) }))
	return err
}

// deliveryRow is a delivery as outbox_deliveries keeps it.
type deliveryRow struct {
	seq      int64
	grp      string
	due      time.Time
	status   string // pending, retrying or failed
	failedAt *time.Time
	doc      []byte
}

func rowOf(d *moderation.Delivery) (deliveryRow, error) {
	doc, err := json.Marshal(d)
	if err != nil {
		return deliveryRow{}, err
	}
	r := deliveryRow{seq: int64(d.Seq), grp: d.Group, due: d.Due, status: "pending", doc: doc}
	switch {
	case d.Failed():
		r.status, r.failedAt = "failed", &d.FailedAt
	case d.Attempts > 0:
		r.status = "retrying"
	}
	return r, nil
}

// column is one field of every row, as an array parameter for unnest.
func column[T any](rows []deliveryRow, field func(deliveryRow) T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = field(r)
	}
	return out
}

// dueSQL finds the deliveries that DueDeliveries may take at $1, without
// locking: those due and neither given up nor held, and every member of a
// group with such a one unless a member of that group is held (a group goes
// to one caller, whole). It reads the due index and the group index only,
// so that a worker's poll of a full outbox that has nothing due is cheap.
const dueSQL = `
WITH due_now AS (
    SELECT seq, grp FROM outbox_deliveries
    WHERE due <= $1 AND status <> 'failed' AND (held_until IS NULL OR held_until <= $1)
)
SELECT seq FROM due_now WHERE grp = ''
UNION
SELECT m.seq FROM outbox_deliveries m
WHERE m.grp IN (SELECT grp FROM due_now WHERE grp <> '')
  AND m.status <> 'failed' AND (m.held_until IS NULL OR m.held_until <= $1)
  AND NOT EXISTS (SELECT 1 FROM outbox_deliveries h WHERE h.grp = m.grp AND h.held_until > $1)`

// takeSQL locks what dueSQL found ($2) and is still free at $1, skipping
// rows that a concurrent caller is taking.
const takeSQL = `
SELECT seq, doc FROM outbox_deliveries
WHERE seq = ANY($2) AND status <> 'failed' AND (held_until IS NULL OR held_until <= $1)
ORDER BY seq
FOR UPDATE SKIP LOCKED`

// holdSQL holds the rows $1 until $2, but leaves out a group of which any
// member still owed is missing from $1: a concurrent caller has it locked or
// held, or it joined since, and a group never goes out in parts.
const holdSQL = `
UPDATE outbox_deliveries o SET held_until = $2
WHERE o.seq = ANY($1)
  AND (o.grp = '' OR NOT EXISTS (
        SELECT 1 FROM outbox_deliveries m
        WHERE m.grp = o.grp AND m.status <> 'failed' AND m.seq <> ALL($1)))
RETURNING o.seq`

// DueDeliveries returns the deliveries to try now, oldest first: those due
// by now, with every other member of a due one's group. It holds them until
// now + holdDeliveries (by the caller's clock) or until finished or saved;
// held ones go to no other caller, in this process or another.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time) ([]*moderation.Delivery, error) {
	// Workers poll often and mostly find nothing: look first without a
	// transaction or a lock.
	rows, _ := db.pool.Query(ctx, dueSQL, now)
	found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(found) == 0 {
		return nil, mapError(err)
	}
	var out []*moderation.Delivery
	err = db.tx(ctx, func(tx pgx.Tx) error {
		out = nil
		rows, _ := tx.Query(ctx, takeSQL, now, found)
		picked, err := pgx.CollectRows(rows, scanDelivery)
		if err != nil || len(picked) == 0 {
			return err
		}
		seqs := make([]int64, len(picked))
		for i, d := range picked {
			seqs[i] = int64(d.Seq)
		}
		rows, _ = tx.Query(ctx, holdSQL, seqs, now.Add(holdDeliveries))
		held, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		for _, d := range picked {
			if slices.Contains(held, int64(d.Seq)) {
				out = append(out, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scanDelivery(row pgx.CollectableRow) (*moderation.Delivery, error) {
	var seq int64
	var doc []byte
	if err := row.Scan(&seq, &doc); err != nil {
		return nil, err
	}
	var d moderation.Delivery
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("delivery %d: %w", seq, err)
	}
	d.Seq = uint64(seq)
	return &d, nil
}

// FinishDeliveries removes sent (or pointless) deliveries, and their holds
// with them.
func (db *DB) FinishDeliveries(ctx context.Context, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	ids := make([]int64, len(seqs))
	for i, s := range seqs {
		ids[i] = int64(s)
	}
	_, err := db.pool.Exec(ctx, "DELETE FROM outbox_deliveries WHERE seq = ANY($1)", ids)
	return mapError(err)
}

// SaveDelivery records an attempt: its new due time, error and count. It
// lets go of the hold, so that the delivery is due again at its new time
// for whichever worker asks first; ErrNotFound if it is gone.
func (db *DB) SaveDelivery(ctx context.Context, d *moderation.Delivery) error {
	r, err := rowOf(d)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE outbox_deliveries
		SET grp = $2, due = $3, status = $4, failed_at = $5, held_until = NULL, doc = $6 WHERE seq = $1`,
		r.seq, r.grp, r.due, r.status, r.failedAt, string(r.doc))
	if err != nil {
		return mapError(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delivery %d: %w", d.Seq, moderation.ErrNotFound)
	}
	return nil
}

// PruneOutbox forgets deliveries that failed before failedBefore and
// single-use link records that expired before now (in whole seconds, as
// bbolt keeps them).
func (db *DB) PruneOutbox(ctx context.Context, failedBefore, now time.Time) error {
	b := &pgx.Batch{}
	b.Queue("DELETE FROM outbox_deliveries WHERE status = 'failed' AND failed_at < $1", failedBefore)
	b.Queue("DELETE FROM used_links WHERE expires < $1", now.Truncate(time.Second))
	return mapError(db.pool.SendBatch(ctx, b).Close())
}

// OutboxDepth counts deliveries by state: "pending" (never tried),
// "retrying", "failed" (given up), and "changes" not yet planned.
func (db *DB) OutboxDepth(ctx context.Context) (map[string]int, error) {
	var changes, pending, retrying, failed int
	err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox_changes),
		count(*) FILTER (WHERE status = 'pending'),
		count(*) FILTER (WHERE status = 'retrying'),
		count(*) FILTER (WHERE status = 'failed')
		FROM outbox_deliveries`).Scan(&changes, &pending, &retrying, &failed)
	if err != nil {
		return nil, mapError(err)
	}
	return map[string]int{"pending": pending, "retrying": retrying, "failed": failed, "changes": changes}, nil
}
