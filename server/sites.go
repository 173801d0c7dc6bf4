package server

import (
	"net/http"
	"net/url"

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

// adminSite is the site an admin request is for: site=ID, else the default
// site for those who moderate it, else the first of the actor's sites. The
// service answers 404 for a site the actor does not moderate.
func (s *Server) adminSite(c echo.Context) (string, error) {
	if id := c.QueryParam("site"); id != "" {
		if id == moderation.AllSites && c.Path() == "/api/admin/comments" {
			return id, nil // the "all my sites" queue (handleList)
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
