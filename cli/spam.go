package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"parley/moderation"
)

const blocklistUsage = `usage: parley blocklist list [KIND]
       parley blocklist add KIND VALUE...
       parley blocklist remove KIND VALUE...
KIND is words (words or phrases), emails (addresses or domains) or networks (CIDR)`

// blocklistCommand: parley blocklist add|remove|list [KIND VALUE...].
func blocklistCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New(blocklistUsage)}
	}
	verb := args[0]
	var cfg config
	fs := newFlagSet("blocklist "+verb, &cfg)
	fs.SetOutput(stderr)
	site := fs.String("site", moderation.DefaultSite, "the site whose blocklist this is")
	rest, err := parseMixed(fs, args[1:])
	if err != nil {
		return usageError{err}
	}
	switch {
	case verb == "list" && len(rest) <= 1:
	case (verb == "add" || verb == "remove") && len(rest) >= 2:
	default:
		return usageError{errors.New(blocklistUsage)}
	}
	if verb == "list" && len(rest) == 1 && moderation.BlocklistKind(rest[0]) == "" {
		return usageError{errors.New(blocklistUsage)}
	}
	db, _, spam, err := openGuarded(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	var b moderation.Blocklist
	switch verb {
	case "list":
		b, err = spam.Blocklist(ctx, cliActor(), *site)
	case "add":
		b, err = spam.AddToBlocklist(ctx, cliActor(), *site, rest[0], rest[1:]...)
	case "remove":
		b, err = spam.RemoveFromBlocklist(ctx, cliActor(), *site, rest[0], rest[1:]...)
	}
	if err != nil {
		return plainError(siteError(err, *site))
	}
	for _, kind := range []struct {
		name string
		list []string
	}{{moderation.BlockWords, b.Words}, {moderation.BlockEmails, b.Emails}, {moderation.BlockNetworks, b.Networks}} {
		if verb == "list" && len(rest) == 1 && moderation.BlocklistKind(rest[0]) != kind.name {
			continue
		}
		for _, v := range kind.list {
			fmt.Fprintf(stdout, "%s\t%s\n", kind.name, v)
		}
	}
	return nil
}

// privacyCommand: parley forget EMAIL, and parley secret rotate NAME.
func privacyCommand(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	usage := "usage: parley forget EMAIL"
	if cmd == "secret" {
		usage = "usage: parley secret rotate " + moderation.SecretIPHash + "|" + moderation.SecretFormToken
		if len(args) == 0 || args[0] != "rotate" {
			return usageError{errors.New(usage)}
		}
		args = args[1:]
	}
	var cfg config
	fs := newFlagSet(cmd, &cfg)
	fs.SetOutput(stderr)
	site := fs.String("site", "", "forget: only on this site (default: every site)")
	rest, err := parseMixed(fs, args)
	if err != nil {
		return usageError{err}
	}
	if len(rest) != 1 {
		return usageError{errors.New(usage)}
	}
	db, svc, err := openService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if cmd == "forget" {
		n, err := svc.Forget(ctx, cliActor(), *site, rest[0])
		if err != nil {
			return plainError(err)
		}
		fmt.Fprintf(stdout, "deleted %d comments\n", n)
		return nil
	}
	if err := svc.RotateSecret(ctx, cliActor(), rest[0]); err != nil {
		return plainError(err)
	}
	fmt.Fprintf(stdout, "rotated %s\n", rest[0])
	if rest[0] == moderation.SecretIPHash {
		fmt.Fprintln(stderr, "IP hashes stored before no longer match new ones: older comments stop grouping with the same client's new ones.")
	} else {
		fmt.Fprintln(stderr, "Form tokens handed out before are void: comments sent with them are filed as spam.")
	}
	return nil
}

// parseMixed parses flags wherever they are among the arguments, and returns
// the other arguments in order.
func parseMixed(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	var rest []string
	for fs.NArg() > 0 {
		rest = append(rest, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// plainError turns a validation error into a sentence for the terminal.
func plainError(err error) error {
	var ve *moderation.ValidationError
	if errors.As(err, &ve) {
		return errors.New(strings.TrimPrefix(ve.Error(), "validation failed: "))
	}
	return err
}

const spamUsage = `usage: parley spam retrain [--site ID]
       parley spam evaluate [--learn-first SHARE] [--threshold T,...] FILE
retrain rebuilds the classifier from the decided comments in the database;
evaluate replays a labelled ndjson export (parley export) in time order and
prints the spam it would have caught and the genuine comments it would have lost`

// spamCommand: parley spam retrain|evaluate.
func spamCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "retrain" && args[0] != "evaluate") {
		return usageError{errors.New(spamUsage)}
	}
	verb := args[0]
	var cfg config
	fs := newFlagSet("spam "+verb, &cfg)
	fs.SetOutput(stderr)
	learnFirst := fs.Float64("learn-first", 0, "evaluate: the share of the history (0 to 1, oldest first) learned before anything is measured")
	thresholds := fs.String("threshold", fmt.Sprint(moderation.DefaultSpamThreshold), "evaluate: comma-separated thresholds to measure at")
	site := fs.String("site", "", "retrain: the site whose classifier to rebuild (default: every site's)")
	rest, err := parseMixed(fs, args[1:])
	if err != nil {
		return usageError{err}
	}
	if verb == "retrain" {
		if len(rest) != 0 {
			return usageError{errors.New(spamUsage)}
		}
		db, svc, err := openService(ctx, &cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		st, err := svc.RetrainClassifier(ctx, cliActor(), *site)
		if err != nil {
			return plainError(err)
		}
		fmt.Fprintf(stdout, "the classifier learned %d genuine and %d spam comments\n", st.Ham, st.Spam)
		if !st.Ready {
			fmt.Fprintf(stderr, "It files nothing until it has learned %d of each; until then it only shows scores.\n", moderation.MinDecisions)
		}
		return nil
	}
	if len(rest) != 1 {
		return usageError{errors.New(spamUsage)}
	}
	var ts []float64
	for _, t := range strings.Split(*thresholds, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || v <= 0 || v > 1 {
			return usageError{fmt.Errorf("--threshold: %q is not a number above 0 and at most 1", t)}
		}
		ts = append(ts, v)
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	ev, err := moderation.Evaluate(f, *learnFirst, ts)
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", rest[0], err)}
	}
	fmt.Fprintf(stdout, "%d labelled comments; learned the first %d, then measured %d: %d spam, %d genuine\n",
		ev.Comments, ev.Learned, ev.Spam+ev.Ham, ev.Spam, ev.Ham)
	for i, t := range ev.Thresholds {
		fmt.Fprintf(stdout, "threshold %g: spam caught %d of %d (%s), genuine comments lost %d of %d (%s)\n",
			t, ev.Caught[i], ev.Spam, percent(ev.Caught[i], ev.Spam), ev.Lost[i], ev.Ham, percent(ev.Lost[i], ev.Ham))
	}
	return nil
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 2, 64) + "%"
}
