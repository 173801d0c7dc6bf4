package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"parley/moderation"
)

const siteUsage = `usage:
  parley site add ID [--name NAME] [--origins A,B] [--settings JSON]
  parley site list
  parley site edit ID [--name NAME] [--origins A,B] [--settings JSON]
  parley site remove ID [--delete-comments]`

// siteCommand: parley site add|list|edit|remove.
func siteCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New(siteUsage)}
	}
	verb := args[0]
	var cfg config
	fs := newFlagSet("site "+verb, &cfg)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "what people call the site, e.g. Field Notes")
	origins := fs.String("origins", "", "comma-separated origins its pages are served from, e.g. https://blog.example,https://www.blog.example")
	settings := fs.String("settings", "", `its own settings as JSON, e.g. '{"max_links":0,"theme":"dark"}'; others follow the serve flags`)
	deleteComments := fs.Bool("delete-comments", false, "remove: remove the site even though it holds comments, with them")
	rest, err := parseMixed(fs, args[1:])
	if err != nil {
		return usageError{err}
	}
	switch {
	case verb == "list" && len(rest) == 0:
	case (verb == "add" || verb == "edit" || verb == "remove") && len(rest) == 1:
	default:
		return usageError{errors.New(siteUsage)}
	}
	var patch moderation.SitePatch
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["name"] {
		patch.Name = name
	}
	if set["origins"] {
		list := splitList(*origins)
		patch.Origins = &list
	}
	if set["settings"] {
		var s moderation.SiteSettings
		dec := json.NewDecoder(strings.NewReader(*settings))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return usageError{fmt.Errorf("--settings: %v", err)}
		}
		patch.Settings = &s
	}
	db, svc, err := openService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	actor := cliActor()
	switch verb {
	case "add":
		site := moderation.Site{ID: rest[0], Name: *name, Origins: splitList(*origins)}
		if patch.Settings != nil {
			site.Settings = *patch.Settings
		}
		info, err := svc.CreateSite(ctx, actor, site)
		if errors.Is(err, moderation.ErrOriginTaken) {
			return err
		}
		if errors.Is(err, moderation.ErrConflict) {
			return fmt.Errorf("there is a site %q already", rest[0])
		}
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "added site %s (%s): %s\n", info.ID, info.Name, strings.Join(info.Origins, " "))
	case "edit":
		info, err := svc.EditSite(ctx, actor, rest[0], patch)
		if err != nil {
			return siteError(cliError(err), rest[0])
		}
		fmt.Fprintf(stdout, "edited site %s (%s): %s\n", info.ID, info.Name, strings.Join(info.Origins, " "))
	case "remove":
		err := svc.DeleteSite(ctx, actor, rest[0], *deleteComments)
		if errors.Is(err, moderation.ErrSiteInUse) {
			return fmt.Errorf("site %q still holds comments: export them first, or pass --delete-comments to remove them with it", rest[0])
		}
		if err != nil {
			return siteError(err, rest[0])
		}
		fmt.Fprintf(stdout, "removed site %s\n", rest[0])
	case "list":
		sites, err := svc.ListSites(ctx, actor)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tORIGINS\tSETTINGS")
		for _, s := range sites {
			own, _ := json.Marshal(s.Settings)
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.ID, s.Name, strings.Join(s.Origins, ","), own)
		}
		return w.Flush()
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
