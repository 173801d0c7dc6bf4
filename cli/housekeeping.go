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
			return db, svc, spam, nil
		}
	}
	_ = db.Close()
	return nil, nil, nil, err
}

// housekeepingEvery is how often serve purges what it no longer keeps.
const housekeepingEvery = time.Hour

// housekeep purges, at once and then every interval until ctx ends, rejected
// and spam comments older than retention and expired claims.
func housekeep(ctx context.Context, svc *moderation.Service, retention, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		res, err := svc.Purge(ctx, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("purge failed; will retry", "error", err)
		case res.Comments+res.Claims > 0:
			log.Info("purged", "comments", res.Comments, "claims", res.Claims)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
