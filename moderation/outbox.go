package moderation

import (
	"context"
	"time"
)

// Transition records that a comment entered a status. Storage writes one in
// the same transaction as the change itself, so that a crash between the
// commit and the notification cannot lose it; the notify worker turns each
// transition into the deliveries it calls for, then forgets it.
type Transition struct {
	Seq     uint64    `json:"seq"`
	Site    string    `json:"site"`
	Comment string    `json:"comment"`
	To      Status    `json:"to"`
	At      time.Time `json:"at"`
}

// DeliveryKind names what a delivery sends.
type DeliveryKind string

// The deliveries Parley makes.
const (
	DeliverModerator DeliveryKind = "moderator" // email one moderator about one pending comment
	DeliverDigest    DeliveryKind = "digest"    // the same, batched per moderator every few minutes
	DeliverWebhook   DeliveryKind = "webhook"   // POST one pending comment to a webhook URL
	DeliverPublished DeliveryKind = "published" // tell a commenter who opted in that their comment is published
	DeliverReply     DeliveryKind = "reply"     // tell a commenter who opted in that a reply was published
	DeliverVerify    DeliveryKind = "verify"    // mail an email-verification link on request
)

// Delivery is one notification owed, kept in the outbox until it is sent or
// given up. It names its recipient and comment, not the text: the message is
// written when it is sent, from the comment as it is then.
type Delivery struct {
	Seq     uint64       `json:"seq"`
	Kind    DeliveryKind `json:"kind"`
	To      string       `json:"to,omitempty"` // moderator name, webhook URL, or the address to verify
	Site    string       `json:"site,omitempty"`
	Comment string       `json:"comment,omitempty"`
	// Group batches deliveries: every delivery of a group is due when the
	// first one is, and they are sent together (a moderator's digest).
	Group     string    `json:"group,omitempty"`
	Created   time.Time `json:"created"`
	Due       time.Time `json:"due"`
	Attempts  int       `json:"attempts,omitempty"`
	LastError string    `json:"last_error,omitempty"` // never an address or a body
	FailedAt  time.Time `json:"failed_at,omitzero"`   // set when retries are exhausted
}

// Failed reports whether the delivery was given up.
func (d *Delivery) Failed() bool { return !d.FailedAt.IsZero() }

// OutboxStore keeps the notification outbox. Several processes may share
// one database, each with its own notify worker: the store makes sure that
// each transition is planned once and each delivery is sent by one of them.
type OutboxStore interface {
	// Changes returns up to limit transitions not yet planned, oldest first.
	Changes(ctx context.Context, limit int) ([]Transition, error)
	// PlanChange replaces the transition seq by the deliveries it calls for,
	// in one transaction: a crash leaves either the change or its
	// deliveries. A transition already planned (by another process) is left
	// alone and nothing is queued.
	PlanChange(ctx context.Context, seq uint64, ds []*Delivery) error
	// DueDeliveries returns the deliveries to try now, oldest first: those
	// due by now, with every other member of a due one's group. It holds
	// them for the caller: until they are finished or saved, or a few
	// minutes pass (the caller crashed), no other caller gets them.
	DueDeliveries(ctx context.Context, now time.Time) ([]*Delivery, error)
	// FinishDeliveries removes sent (or pointless) deliveries.
	FinishDeliveries(ctx context.Context, seqs ...uint64) error
	// SaveDelivery records an attempt: its new due time, error and count.
	SaveDelivery(ctx context.Context, d *Delivery) error
	// PruneOutbox forgets deliveries that failed before failedBefore and
	// single-use link records that expired before now.
	PruneOutbox(ctx context.Context, failedBefore, now time.Time) error
	// OutboxDepth counts deliveries by status (pending, retrying, failed)
	// and the transitions not yet planned (changes).
	OutboxDepth(ctx context.Context) (map[string]int, error)
}
