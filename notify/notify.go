// Package notify tells people about comments: moderators by email (one per
// comment or a digest) and webhooks when a comment waits for moderation,
// commenters who opted in when their comment is published or answered, and
// anyone who asks for an email-verification link.
//
// It never sends from a request. Storage writes every status change of a
// comment to a feed in the change's own transaction; a worker turns each
// change into deliveries in the outbox and sends them with a bounded,
// backed-off retry. Each process runs one worker; the store makes sure that
// of several on one database, one plans each change and one sends each
// delivery. So a slow or failing SMTP server never slows a
// submission, and a restart loses nothing. It imports moderation only.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"text/template"
	"time"

	"parley/moderation"
)

// Config says where and how to send. Zero durations take the defaults.
type Config struct {
	PublicURL   string   // Parley's own URL: links in messages point here
	SiteOrigins []string // the blog's origins (moderation.SiteOrigins): a post key is linked only on them

	SMTP        SMTP          // Host "" turns email off
	DigestEvery time.Duration // how often digest moderators hear; default 1h

	Webhooks        []string           // URLs that get a POST per pending comment
	WebhookSecret   string             // signs every webhook body (HMAC-SHA256)
	WebhookTemplate *template.Template // writes the JSON body; nil sends Parley's payload

	Clock       func() time.Time // default time.Now
	Poll        time.Duration    // how often the worker looks for due deliveries; default 5s
	RetryBase   time.Duration    // the first retry's delay, doubling each time; default 30s
	MaxAttempts int              // attempts before a delivery is given up; default 10
}

// The defaults of Config.
const (
	DefaultDigestEvery = time.Hour
	DefaultPoll        = 5 * time.Second
	DefaultRetryBase   = 30 * time.Second
	DefaultMaxAttempts = 10
	maxRetryDelay      = time.Hour
	keepFailed         = 14 * 24 * time.Hour // failed deliveries stay visible this long
	staleAfter         = 24 * time.Hour      // a commenter is not told of older news
)

// Store is what the worker needs from the database.
type Store interface {
	Comment(ctx context.Context, site, id string) (*moderation.Comment, error)
	Site(ctx context.Context, id string) (*moderation.Site, error)
	Sites(ctx context.Context) ([]*moderation.Site, error)
	Moderator(ctx context.Context, name string) (*moderation.Moderator, error)
	Moderators(ctx context.Context) ([]*moderation.Moderator, error)
	Commenter(ctx context.Context, email string) (*moderation.Commenter, error)

	// Changes returns transitions not yet planned, oldest first.
	Changes(ctx context.Context, limit int) ([]moderation.Transition, error)
	// PlanChange replaces a transition by its deliveries, atomically.
	PlanChange(ctx context.Context, seq uint64, ds []*moderation.Delivery) error
	// DueDeliveries returns what to try now, whole groups included.
	DueDeliveries(ctx context.Context, now time.Time) ([]*moderation.Delivery, error)
	FinishDeliveries(ctx context.Context, seqs ...uint64) error
	SaveDelivery(ctx context.Context, d *moderation.Delivery) error
	PruneOutbox(ctx context.Context, failedBefore, now time.Time) error
}

// Recorder counts what happens to deliveries (the metrics package is one).
type Recorder interface {
	// Notification counts one outcome on a channel ("email" or "webhook"):
	// "sent", "error" (will retry), "given_up" or "skipped".
	Notification(channel, outcome string)
}

// Notifier is the running worker.
type Notifier struct {
	cfg    Config
	store  Store
	svc    *moderation.Service
	log    *slog.Logger
	rec    Recorder
	mailer *mailer
	hooks  *webhooks
	kick   chan struct{}
	stop   context.CancelFunc
	done   sync.WaitGroup
	pruned time.Time
}

// Start checks cfg and runs the worker until ctx ends or Stop is called. It
// registers with svc to wake as soon as a comment changes. rec may be nil.
func Start(ctx context.Context, cfg Config, svc *moderation.Service, store Store, log *slog.Logger, rec Recorder) (*Notifier, error) {
	cfg = withDefaults(cfg)
	n := &Notifier{cfg: cfg, store: store, svc: svc, log: log.With("component", "notify"), rec: rec,
		kick: make(chan struct{}, 1)}
	if n.rec == nil {
		n.rec = nopRecorder{}
	}
	if cfg.SMTP.Host != "" {
		m, err := newMailer(cfg.SMTP, cfg.PublicURL)
		if err != nil {
			return nil, err
		}
		n.mailer = m
	}
	if len(cfg.Webhooks) > 0 {
		h, err := newWebhooks(cfg)
		if err != nil {
			return nil, err
		}
		n.hooks = h
	}
	svc.Subscribe(func(context.Context, moderation.Event) { n.wake() })
	ctx, n.stop = context.WithCancel(context.WithoutCancel(ctx))
	n.done.Add(1)
	go n.run(ctx)
	n.log.Info("notifications started", "email", n.mailer != nil, "webhooks", len(cfg.Webhooks))
	return n, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.DigestEvery <= 0 {
		cfg.DigestEvery = DefaultDigestEvery
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	return cfg
}

// Stop ends the worker and waits for the delivery in hand to finish; what
// it held and had not tried yet is let go for other workers.
func (n *Notifier) Stop() {
	n.stop()
	n.done.Wait()
}

func (n *Notifier) wake() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *Notifier) now() time.Time { return n.cfg.Clock().UTC() }

func (n *Notifier) run(ctx context.Context) {
	defer n.done.Done()
	tick := time.NewTicker(n.cfg.Poll)
	defer tick.Stop()
	for {
		n.planChanges(ctx)
		n.sendDue(ctx)
		n.prune(ctx)
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		case <-tick.C:
		}
	}
}

// planChanges turns every waiting transition into its deliveries.
func (n *Notifier) planChanges(ctx context.Context) {
	for ctx.Err() == nil {
		ts, err := n.store.Changes(ctx, 100)
		if err != nil {
			n.log.Error("read the changes feed", "error", err)
			return
		}
		for _, t := range ts {
			ds, err := n.plan(ctx, t)
			if err == nil {
				err = n.store.PlanChange(ctx, t.Seq, ds)
			}
			if err != nil {
				n.log.Error("plan notifications", "comment", t.Comment, "error", err)
				return
			}
		}
		if len(ts) < 100 {
			return
		}
	}
}

// sendBudget is how long the worker keeps starting sends from one look at
// the outbox. The store holds what DueDeliveries returned for a few minutes
// (5 on both backends) and then gives it to whichever worker asks, which
// would send it again: so a worker past its budget lets go of what it has
// not tried yet, and looks again. The longest send (SMTP's 30 s timeout)
// ends well inside the hold.
const sendBudget = 2 * time.Minute

// sendDue tries every due delivery; a group (a digest) goes out as one.
// Several processes may run a worker on one database: the store holds what
// it returns for this one, so each delivery is sent by one worker.
func (n *Notifier) sendDue(ctx context.Context) {
	start := n.now()
	ds, err := n.store.DueDeliveries(ctx, start)
	if err != nil {
		n.log.Error("read the outbox", "error", err)
		return
	}
	batches := batchesOf(ds)
	for i, batch := range batches {
		if ctx.Err() != nil || n.now().Sub(start) >= sendBudget {
			n.release(ctx, batches[i:])
			n.wake()
			return
		}
		channel, err := n.deliver(ctx, batch)
		n.settle(ctx, channel, batch, err)
	}
}

// batchesOf splits due deliveries into what goes out at once: one
// delivery, or the whole of a group where its first member stands.
func batchesOf(ds []*moderation.Delivery) [][]*moderation.Delivery {
	groups := map[string][]*moderation.Delivery{}
	for _, d := range ds {
		if d.Group != "" {
			groups[d.Group] = append(groups[d.Group], d)
		}
	}
	var out [][]*moderation.Delivery
	for _, d := range ds {
		batch := []*moderation.Delivery{d}
		if d.Group != "" {
			if batch = groups[d.Group]; batch == nil {
				continue // goes out with the group's first member
			}
			delete(groups, d.Group)
		}
		out = append(out, batch)
	}
	return out
}

// release lets go of deliveries the worker held but will not try now (it is
// stopping, or past its budget), saving each unchanged, so that any worker
// may take them at once instead of after the hold.
func (n *Notifier) release(ctx context.Context, batches [][]*moderation.Delivery) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, batch := range batches {
		for _, d := range batch {
			if err := n.store.SaveDelivery(ctx, d); err != nil {
				n.log.Error("let go of a delivery", "delivery", d.Seq, "error", err)
			}
		}
	}
}

// errSkip means there is nothing to send any more (the comment was moderated
// already, the address unsubscribed, the channel is off): the delivery ends.
var errSkip = errors.New("nothing to send")

// permanent marks an error that retrying cannot cure.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// settle records the outcome of one attempt at a batch.
func (n *Notifier) settle(ctx context.Context, channel string, batch []*moderation.Delivery, err error) {
	seqs := make([]uint64, len(batch))
	for i, d := range batch {
		seqs[i] = d.Seq
	}
	switch {
	case err == nil || errors.Is(err, errSkip):
		outcome := "sent"
		if err != nil {
			outcome = "skipped"
		}
		n.rec.Notification(channel, outcome)
		if err := n.store.FinishDeliveries(ctx, seqs...); err != nil {
			n.log.Error("clear the outbox", "error", err)
		}
		n.log.Info("notification "+outcome, "kind", batch[0].Kind, "channel", channel, "deliveries", len(batch),
			"comment", batch[0].Comment)
		return
	}
	now := n.now()
	msg := redact(err.Error())
	for _, d := range batch {
		d.Attempts++
		d.LastError = msg
		var p permanent
		if errors.As(err, &p) || d.Attempts >= n.cfg.MaxAttempts {
			d.FailedAt = now
		} else {
			d.Due = now.Add(n.backoff(d.Attempts))
		}
		if err := n.store.SaveDelivery(ctx, d); err != nil {
			n.log.Error("record a failed delivery", "delivery", d.Seq, "error", err)
		}
	}
	d := batch[0]
	if d.Failed() {
		n.rec.Notification(channel, "given_up")
		n.log.Error("notification given up", "kind", d.Kind, "channel", channel, "delivery", d.Seq,
			"attempts", d.Attempts, "error", msg)
		return
	}
	n.rec.Notification(channel, "error")
	n.log.Warn("notification failed; will retry", "kind", d.Kind, "channel", channel, "delivery", d.Seq,
		"attempts", d.Attempts, "retry_at", d.Due, "error", msg)
}

// backoff doubles the delay with each attempt, up to an hour.
func (n *Notifier) backoff(attempts int) time.Duration {
	d := n.cfg.RetryBase
	for i := 1; i < attempts && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}

// prune forgets long-failed deliveries and expired link records, hourly.
func (n *Notifier) prune(ctx context.Context) {
	now := n.now()
	if now.Sub(n.pruned) < time.Hour {
		return
	}
	n.pruned = now
	if err := n.store.PruneOutbox(ctx, now.Add(-keepFailed), now); err != nil {
		n.log.Error("prune the outbox", "error", err)
	}
}

type nopRecorder struct{}

func (nopRecorder) Notification(string, string) {}
