package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

// errWrongSite refuses a public request whose page belongs to another site
// than the one it names, or to no site at all.
var errWrongSite = moderation.Errorf(moderation.CodeForbidden, "This page is not allowed to post or read comments of that site.")

// publicSite decides which site a public request is for. The server decides,
// from the request's Origin (or, for a form post without one, its Referer),
// matched against every site's origins; named (site=ID from the embed tag)
// must agree. A request from no origin, or from Parley's own pages (the
// demo page, /p), is for the site it names, or the default site.
func (s *Server) publicSite(c echo.Context, named string) (string, error) {
	r := c.Request()
	ctx := r.Context()
	from := r.Header.Get(echo.HeaderOrigin)
	if from == "" && r.Method == http.MethodPost {
		// An old browser's form post: its Referer names the page, when it
		// is a site's. Referers are often cut or rewritten, so one that
		// names no site counts as no origin (the spam pipeline weighs it).
		if ref, err := url.Parse(r.Referer()); err == nil && ref.IsAbs() {
			if _, ok, _ := s.svc.SiteForOrigin(ctx, origin(ref)); ok {
				from = origin(ref)
			}
		}
	}
	if from != "" && from != "null" && from != s.ownOrigin {
		site, ok, err := s.svc.SiteForOrigin(ctx, from)
		switch {
		case err != nil:
			return "", err
		case !ok || (named != "" && named != site):
			return "", errWrongSite
		}
		return site, nil
	}
	if named == "" {
		return moderation.DefaultSite, nil
	}
	ok, err := s.svc.SiteExists(ctx, named)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", moderation.ErrNotFound
	}
	return named, nil
}

// allowedOrigin reports whether a page on origin o may call the public API:
// it belongs to a site.
func (s *Server) allowedOrigin(c echo.Context, o string) bool {
	_, ok, err := s.svc.SiteForOrigin(c.Request().Context(), o)
	return err == nil && ok
}

// cacheKey names a post of a site in the read cache: the same post key on
// two sites is two threads.
func cacheKey(site, post string) string { return site + "\x00" + post }

// appendCacheKey appends cacheKey(site, post) to dst, for the read path's
// lookups that build their key on the stack.
func appendCacheKey(dst []byte, site, post string) []byte {
	return append(append(append(dst, site...), 0), post...)
}

// adminSite is the site an admin request is for: site=ID, else the default
// site for those who moderate it, else the first of the actor's sites. The
// service answers 404 for a site the actor does not moderate. site=* is the
// "all my sites" queue; see everySite.
func (s *Server) adminSite(c echo.Context) (string, error) {
	if id := c.QueryParam("site"); id != "" {
		if id == moderation.AllSites {
			return s.everySite(c)
		}
		if !moderation.ValidSiteID(id) {
			return "", moderation.ErrNotFound
		}
		return id, nil
	}
	actor := actorOf(c)
	if actor.Moderates(moderation.DefaultSite) {
		return moderation.DefaultSite, nil
	}
	if ids := actor.SiteIDs(nil); len(ids) > 0 {
		return ids[0], nil
	}
	return moderation.DefaultSite, nil
}

// everySite resolves site=*: the queue and its counts take it as it is; an
// action on one comment is for the site of the actor's that holds it;
// anything else, which needs one site, takes the actor's first.
func (s *Server) everySite(c echo.Context) (string, error) {
	switch c.Path() {
	case "/api/admin/comments", "/api/admin/queue", "/api/admin/counts", "/admin":
		return moderation.AllSites, nil
	}
	if id := c.Param("id"); id != "" && strings.HasPrefix(c.Path(), "/api/admin/comments/") {
		return s.svc.SiteOfComment(c.Request().Context(), actorOf(c), id)
	}
	c.QueryParams().Del("site")
	return s.adminSite(c)
}

// bulkEverywhere is a bulk action from the "all my sites" queue: the ids
// are grouped by the site that holds them, and each site's group moves in
// one transaction (all or nothing per site).
func (s *Server) bulkEverywhere(c echo.Context, req bulkRequest) error {
	ctx, actor := c.Request().Context(), actorOf(c)
	if len(req.IDs) == 0 || len(req.IDs) > moderation.MaxBulk {
		return &moderation.ValidationError{Fields: map[string]string{"ids": fmt.Sprintf("must name 1 to %d comments", moderation.MaxBulk)}}
	}
	bySite := map[string][]string{}
	var order []string
	for _, id := range req.IDs {
		site, err := s.svc.SiteOfComment(ctx, actor, id)
		if err != nil {
			return err
		}
		if bySite[site] == nil {
			order = append(order, site)
		}
		bySite[site] = append(bySite[site], id)
	}
	total := moderation.Result{Action: req.Action}
	for _, site := range order {
		res, err := s.svc.Moderate(ctx, actor, site, bySite[site], req.Action)
		if err != nil {
			return err
		}
		total.Changed += res.Changed
		total.Unchanged += res.Unchanged
	}
	return c.JSON(http.StatusOK, total)
}

// siteChoice is one entry of the admin page's site switcher.
type siteChoice struct {
	ID, Name string
	Pending  int
	Current  bool
}

// siteChoices lists the actor's sites with their pending counts, "all my
// sites" first when there is more than one.
func (s *Server) siteChoices(c echo.Context, current string) ([]siteChoice, error) {
	ctx, actor := c.Request().Context(), actorOf(c)
	sites, err := s.svc.ListSites(ctx, actor)
	if err != nil {
		return nil, err
	}
	total, each, err := s.svc.CountsEverywhere(ctx, actor)
	if err != nil {
		return nil, err
	}
	var out []siteChoice
	if len(sites) > 1 {
		out = append(out, siteChoice{ID: moderation.AllSites, Name: "All my sites", Pending: total[moderation.StatusPending],
			Current: current == moderation.AllSites})
	}
	for _, site := range sites {
		out = append(out, siteChoice{ID: site.ID, Name: site.Name, Pending: each[site.ID][moderation.StatusPending],
			Current: site.ID == current})
	}
	return out, nil
}
