package cli

import (
	"context"
	"log/slog"
	"time"

	"parley/moderation"
	"parley/storage"
)

// openGuarded opens the database and builds the service with the anti-spam
// pipeline configured by cfg, for serve (and the blocklist command, which
// edits the pipeline's blocklist). Other commands use openService: imported
// comments must not be judged as if a bot had just sent them.
func openGuarded(ctx context.Context, cfg *config) (moderation.Store, *moderation.Service, *moderation.SpamFilter, error) {
	db, err := storage.Open(ctx, cfg.data)
	if err != nil {
		return nil, nil, nil, err
	}
	spam, err := moderation.NewSpamFilter(ctx, db, cfg.spamOptions())
	if err == nil {
		var svc *moderation.Service
		if svc, err = moderation.NewService(ctx, db, moderation.Options{Checks: spam.Checks(), TrustAfter: cfg.ops.trustAfter,
			SpamThreshold: cfg.spam.threshold}); err == nil {
			spam.ShareWith(svc)
			return db, svc, spam, nil
		}
	}
	_ = db.Close()
	return nil, nil, nil, err
}

// housekeepingEvery is how often serve purges what it no longer keeps.
const housekeepingEvery = time.Hour

// housekeepingLease is the lease under which one instance of those sharing
// a database does the housekeeping of a period; the others skip it.
const housekeepingLease = "housekeeping"

// housekeep purges, at once and then every interval until ctx ends, rejected
// and spam comments older than retention and expired claims: in the one
// instance, of those on the database, that holds the housekeeping lease.
func housekeep(ctx context.Context, svc *moderation.Service, retention, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		held, err := svc.Lease(ctx, housekeepingLease, every)
		if err != nil && ctx.Err() == nil {
			log.Error("housekeeping: cannot take its lease; will retry", "error", err)
		}
		if held {
			purge(ctx, svc, retention, log)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func purge(ctx context.Context, svc *moderation.Service, retention time.Duration, log *slog.Logger) {
	res, err := svc.Purge(ctx, retention)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Error("purge failed; will retry", "error", err)
	case res.Comments+res.Claims > 0:
		log.Info("purged", "comments", res.Comments, "claims", res.Claims)
	}
}
