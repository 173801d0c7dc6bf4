package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"parley/metrics"
	"parley/moderation"
	"parley/server"
	"parley/storage"
)

// openService opens the database and builds the service on it.
func openService(ctx context.Context, cfg *config) (moderation.Store, *moderation.Service, error) {
	db, err := storage.Open(ctx, cfg.data)
	if err != nil {
		return nil, nil, err
	}
	svc, err := moderation.NewService(ctx, db, moderation.Options{TrustAfter: cfg.ops.trustAfter, Defaults: cfg.defaults()})
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return db, svc, nil
}

// serve runs the service until SIGINT or SIGTERM, then finishes in-flight
// requests and closes the database.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("serve", &cfg)
	serveFlags(fs, &cfg)
	fs.SetOutput(stderr)
	if err := parse(fs, args); err != nil {
		return usageError{err}
	}
	if err := cfg.resolve(); err != nil {
		return usageError{err}
	}
	origins, err := cfg.originList()
	if err != nil {
		return usageError{err}
	}
	// Lines are written in batches, so that requests do not each wait for
	// their access log line to reach stderr; Close writes what is left once
	// everything else has stopped.
	lw := newLogWriter(stderr)
	defer lw.Close()
	log := newLogger(cfg.logFormat, lw)

	db, svc, spam, err := openGuarded(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	password, err := svc.EnsureOwner(ctx, os.Getenv("PARLEY_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("create the first moderator: %w", err)
	}
	if password != "" && os.Getenv("PARLEY_ADMIN_PASSWORD") == "" {
		log.Warn("created moderator \"admin\" with a generated password; it is shown only this once", "password", password)
	}

	proxies, _ := cfg.spam.proxies() // checked by resolve
	m := metrics.New(svc, db)
	n, err := startNotify(ctx, &cfg, origins, svc, db, log, m)
	if err != nil {
		return err
	}
	defer n.Stop()

	srv, err := server.New(server.Config{PublicURL: cfg.publicURL, Origins: origins, RateLimit: cfg.rateLimit,
		TrustedProxies: proxies, Spam: spam, Metrics: m, MetricsToken: cfg.ops.metricsToken,
		CacheSize: cfg.cacheBytes(), NoAccessLog: cfg.accessLog == "off", BenchCeiling: cfg.benchCeiling}, svc, log)
	if err != nil {
		return usageError{err}
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	// Other instances on the database (PostgreSQL) hear of this one's
	// changes and it of theirs. It stops after the server finished its last
	// requests, so that their changes are announced too.
	peersCtx, stopPeers := context.WithCancel(context.WithoutCancel(ctx))
	peersDone := make(chan struct{})
	go func() {
		defer close(peersDone)
		svc.FollowPeers(peersCtx, func(err error) { log.Warn("other instances", "error", err) })
	}()
	defer func() { stopPeers(); <-peersDone }()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go housekeep(ctx, svc, cfg.spam.retention, housekeepingEvery, log)
	log.Info("parley is listening", "addr", ln.Addr().String(), "url", cfg.publicURL, "data", storage.Redacted(cfg.data),
		"admin", cfg.publicURL+"/admin")
	err = srv.Serve(ctx, ln)
	log.Info("parley stopped")
	return err
}
