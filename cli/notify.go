package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"parley/moderation"
)

// notifyFlags adds --email and --email-mode to a moderator command.
func notifyFlags(fs *flag.FlagSet) *moderation.NotifyPrefs {
	var p moderation.NotifyPrefs
	fs.StringVar(&p.Email, "email", "", "where to email the moderator about comments awaiting moderation")
	fs.Func("email-mode", "immediate (one email per comment), digest (one every --digest-minutes) or off; default immediate with --email",
		func(v string) error { p.EmailMode = moderation.EmailMode(v); return nil })
	return &p
}

// cliError says a validation error the way a command line does.
func cliError(err error) error {
	var ve *moderation.ValidationError
	if errors.As(err, &ve) {
		return errors.New(strings.TrimPrefix(ve.Error(), "validation failed: "))
	}
	return err
}

// moderatorNotifyCommand: parley moderator notify NAME --email ADDRESS [--email-mode M].
func moderatorNotifyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: parley moderator notify NAME --email ADDRESS [--email-mode immediate|digest|off]"
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		return usageError{errors.New(use)}
	}
	name := args[0]
	var cfg config
	fs := newFlagSet("moderator notify", &cfg)
	fs.SetOutput(stderr)
	prefs := notifyFlags(fs)
	if err := parse(fs, args[1:]); err != nil {
		return usageError{err}
	}
	if _, err := prefs.Check(); err != nil {
		return usageError{cliError(err)}
	}
	db, svc, err := openService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := svc.SetNotifyPrefs(ctx, cliActor(), name, *prefs)
	if errors.Is(err, moderation.ErrNotFound) {
		return fmt.Errorf("there is no moderator named %q", name)
	}
	if err != nil {
		return cliError(err)
	}
	if p.EmailMode == moderation.EmailOff {
		fmt.Fprintf(stdout, "%s gets no email about new comments\n", name)
		return nil
	}
	fmt.Fprintf(stdout, "%s gets %s email about new comments\n", name, p.EmailMode)
	return nil
}

// healthcheckCommand: parley healthcheck [--url URL]. It asks the local
// server's /healthz, for a container's HEALTHCHECK (the image has no curl).
func healthcheckCommand(ctx context.Context, args []string, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("healthcheck", &cfg)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "where serve listens (PARLEY_ADDR)")
	target := fs.String("url", "", "the URL to check (default http://<addr>/healthz, 0.0.0.0 read as 127.0.0.1)")
	if err := parse(fs, args); err != nil {
		return usageError{err}
	}
	if *target == "" {
		host, port, err := net.SplitHostPort(cfg.addr)
		if err != nil {
			return usageError{fmt.Errorf("--addr %q: %v", cfg.addr, err)}
		}
		switch host {
		case "", "0.0.0.0":
			host = "127.0.0.1"
		case "::":
			host = "::1"
		}
		*target = "http://" + net.JoinHostPort(host, port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return usageError{err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *target, resp.Status)
	}
	return nil
}
