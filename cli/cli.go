// Package cli is Parley's command line: the commands, their flags with
// PARLEY_* environment twins, and the configuration they build. Run is the
// whole program; the root main.go only calls it. It imports every other
// package of ours and nothing imports it.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
)

const usage = `parley: a self-hosted comment service for blogs

Usage:
  parley [serve] [flags]                  run the service (the default command)
  parley site add|list|edit|remove [ID]   the blogs this Parley serves (see "parley site -h")
  parley export [--format F] [--site ID]  write comments: ndjson, json, csv or wxr
  parley import --format F [--site ID] FILE   load ndjson, json, wxr (WordPress) or disqus
  parley backup FILE                      write a consistent copy of the database
  parley copy --from SRC --to DST         copy a whole database between bbolt files and PostgreSQL
  parley token create --name NAME [--role owner|admin|moderator] [--site ID]   print a new API token once
  parley moderator add NAME               add a moderator; password from standard input
  parley moderator notify NAME            set how a moderator hears of new comments
  parley blocklist add|remove|list [--site ID] [KIND VALUE...]   KIND: words, emails or networks
  parley spam retrain [--site ID]         rebuild the spam classifier from past decisions
  parley spam evaluate FILE               replay a labelled ndjson export through the classifier
  parley forget [--site ID] EMAIL         erase every comment sent with EMAIL (on every site by default)
  parley secret rotate ip-hash|form-token replace a server secret
  parley healthcheck                      exit 0 when the local server answers /healthz
  parley help                             show this help

Every flag has an environment twin: --data is PARLEY_DATA, --rate-limit is
PARLEY_RATE_LIMIT, and so on; flags win. Run "parley COMMAND -h" for a
command's flags.
`

// Run runs the parley command named by args (serve when none is) and
// returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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
	case "site":
		err = siteCommand(ctx, args, stdout, stderr)
	case "spam":
		err = spamCommand(ctx, args, stdout, stderr)
	case "forget", "secret":
		err = privacyCommand(ctx, cmd, args, stdout, stderr)
	case "healthcheck":
		err = healthcheckCommand(ctx, args, stderr)
	case "copy":
		err = copyCommand(ctx, args, stdout, stderr)
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
