// Command parley is a self-hosted comment service for blogs: it takes comments
// from an embeddable widget, holds every one for moderation and serves the
// approved ones. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"parley/metrics"
	"parley/moderation"
	"parley/server"
	"parley/storage"
)

const usage = `parley: a self-hosted comment service for blogs

Usage:
  parley [serve] [flags]                  run the service (the default command)
  parley export [--format F] [flags]      write comments: ndjson, json, csv or wxr
  parley import --format F FILE           load ndjson, json, wxr (WordPress) or disqus
  parley backup FILE                      write a consistent copy of the database
  parley token create --name NAME         print a new API token once
  parley moderator add NAME               add a moderator; password from standard input
  parley moderator notify NAME            set how a moderator hears of new comments
  parley blocklist add|remove|list [KIND VALUE...]   KIND: words, emails or networks
  parley forget EMAIL                     erase every comment sent with EMAIL
  parley secret rotate ip-hash|form-token replace a server secret
  parley healthcheck                      exit 0 when the local server answers /healthz
  parley help                             show this help

Every flag has an environment twin: --data is PARLEY_DATA, --rate-limit is
PARLEY_RATE_LIMIT, and so on; flags win. Run "parley COMMAND -h" for a
command's flags.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches a command and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "" || args[0][0] != '-') {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, stderr)
	case "token":
		err = tokenCommand(ctx, args, stdout, stderr)
	case "moderator":
		err = moderatorCommand(ctx, args, stdin, stdout, stderr)
	case "blocklist":
		err = blocklistCommand(ctx, args, stdout, stderr)
	case "forget", "secret":
		err = privacyCommand(ctx, cmd, args, stdout, stderr)
	case "healthcheck":
		err = healthcheckCommand(ctx, args, stderr)
	case "export", "import", "backup":
		err = transferCommand(ctx, cmd, args, stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "parley: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "parley %s: %v\n", cmd, err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "parley %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// usageError is a mistake in how a command was called (exit code 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// openService opens the database and builds the service on it.
func openService(ctx context.Context, cfg *config) (*storage.DB, *moderation.Service, error) {
	db, err := storage.Open(cfg.data)
	if err != nil {
		return nil, nil, err
	}
	svc, err := moderation.NewService(ctx, db, moderation.Options{TrustAfter: cfg.ops.trustAfter})
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
	log := newLogger(cfg.logFormat, stderr)

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
		CacheSize: cfg.cacheBytes(), BenchCeiling: cfg.benchCeiling}, svc, log)
	if err != nil {
		return usageError{err}
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go housekeep(ctx, svc, cfg.spam.retention, housekeepingEvery, log)
	log.Info("parley is listening", "addr", ln.Addr().String(), "url", cfg.publicURL, "data", cfg.data,
		"admin", cfg.publicURL+"/admin")
	err = srv.Serve(ctx, ln)
	log.Info("parley stopped")
	return err
}
