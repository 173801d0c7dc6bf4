package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"golang.org/x/term"

	"parley/moderation"
)

// tokenCommand: parley token create --name NAME [--role owner|admin|moderator]
// [--site ID].
func tokenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{errors.New(`usage: parley token create --name NAME [--role owner|admin|moderator] [--site ID]`)}
	}
	var cfg config
	fs := newFlagSet("token create", &cfg)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "what the token is for, e.g. backup-script")
	role := fs.String("role", string(moderation.RoleModerator), "owner (every site), admin or moderator (of --site)")
	site := fs.String("site", "", "the site an admin's or moderator's token acts on (default: the default site)")
	if err := parse(fs, args[1:]); err != nil {
		return usageError{err}
	}
	if *name == "" {
		return usageError{errors.New("--name is required")}
	}
	if *site == "" && moderation.Role(*role) != moderation.RoleOwner {
		*site = moderation.DefaultSite
	}
	db, svc, err := openService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	secret, _, err := svc.CreateToken(ctx, *name, moderation.Role(*role), *site)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintln(stdout, secret)
	fmt.Fprintln(stderr, "Store this token now: it is shown only once. Send it as \"Authorization: Bearer <token>\".")
	return nil
}

// moderatorCommand: parley moderator add NAME [--role moderator|owner], with
// the password read from standard input (asked for on a terminal).
func moderatorCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "notify" {
		return moderatorNotifyCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) < 2 || args[0] != "add" || strings.HasPrefix(args[1], "-") {
		return usageError{errors.New("usage: parley moderator add NAME [--role moderator|owner] [--site ID[=admin|moderator],...] < password")}
	}
	name := args[1]
	var cfg config
	fs := newFlagSet("moderator add", &cfg)
	fs.SetOutput(stderr)
	role := fs.String("role", string(moderation.RoleModerator), "moderator or owner")
	siteList := fs.String("site", moderation.DefaultSite, "a moderator's sites, comma-separated, each ID or ID=admin (default role: moderator)")
	prefs := notifyFlags(fs)
	if err := parse(fs, args[2:]); err != nil {
		return usageError{err}
	}
	if _, err := prefs.Check(); err != nil {
		return usageError{cliError(err)}
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	db, svc, err := openService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := svc.AddModerator(ctx, name, password, moderation.Role(*role), parseSiteRoles(*siteList)); err != nil {
		var ve *moderation.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("%s", strings.TrimPrefix(ve.Error(), "validation failed: "))
		}
		if errors.Is(err, moderation.ErrConflict) {
			return fmt.Errorf("a moderator named %q already exists", name)
		}
		return err
	}
	if *prefs != (moderation.NotifyPrefs{}) {
		if _, err := svc.SetNotifyPrefs(ctx, cliActor(), name, *prefs); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "added %s %q\n", *role, name)
	return nil
}

// readPassword asks on a terminal without echo, or reads one line from a pipe.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// cliActor is who the command line acts as: whoever can read the database
// file is its owner. The name goes into the audit log.
func cliActor() moderation.Actor {
	name := "cli"
	if u, err := user.Current(); err == nil {
		name += ":" + u.Username
	}
	return moderation.Actor{Name: name, Role: moderation.RoleOwner}
}

// parseSiteRoles reads "a,b=admin" as {a: moderator, b: admin}.
func parseSiteRoles(list string) map[string]moderation.SiteRole {
	out := map[string]moderation.SiteRole{}
	for _, part := range strings.Split(list, ",") {
		id, role, ok := strings.Cut(strings.TrimSpace(part), "=")
		if id == "" {
			continue
		}
		if !ok {
			role = string(moderation.SiteModerator)
		}
		out[id] = moderation.SiteRole(role)
	}
	return out
}

// siteError says "no such site" for a site that is not there.
func siteError(err error, site string) error {
	if errors.Is(err, moderation.ErrNotFound) {
		return fmt.Errorf("there is no site %q (see parley site list)", site)
	}
	return err
}
