package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
