package server

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"parley/embed"
	"parley/moderation"
)

// adminCSP is the admin page's policy: only Parley's own scripts, styles and
// requests, no inline script or style at all, no framing. A comment's HTML
// that somehow slipped past the sanitizer still could not run a script.
const adminCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// queuePage is how many comments the queue shows at a time.
const queuePage = 50

// page is what every admin template gets.
type page struct {
	Title   string
	Nav     string // the current section, for the navigation
	Me      moderation.Actor
	CSRF    string
	Counts  map[moderation.Status]int
	Site    string       // the site the page is about, or "*" for all of the actor's
	Sites   []siteChoice // the actor's sites, for the switcher
	Error   string
	Scripts []string // page scripts under /admin/static/, after admin.js
	Data    any
}

// adminPages holds the admin templates, parsed once at start: one set per
// page, each the layout plus the page's "main".
type adminPages struct {
	sets map[string]*template.Template
}

var adminPageNames = []string{"login", "queue", "audit", "team", "settings", "account", "forbidden"}

func newAdminPages(files fs.FS, postURL func(site, post string) string) (*adminPages, error) {
	funcs := template.FuncMap{
		"when":        func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
		"iso":         func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"postURL":     postURL,
		"published":   func(h string) template.HTML { return template.HTML(h) }, // the sanitizer's output, as readers get it
		"statuses":    func() []moderation.Status { return moderation.Statuses },
		"isOwner":     func(a moderation.Actor) bool { return a.Can(moderation.RoleOwner) },
		"administers": func(a moderation.Actor, site string) bool { return a.Administers(site) },
		"count":       func(counts map[moderation.Status]int, s moderation.Status) int { return counts[s] },
		"label":       statusLabel,
		"pathEscape":  url.PathEscape,
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "admin/layout.html", "admin/items.html")
	if err != nil {
		return nil, err
	}
	p := &adminPages{sets: map[string]*template.Template{}}
	for _, name := range adminPageNames {
		set, err := template.Must(base.Clone()).ParseFS(files, "admin/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.sets[name] = set
	}
	return p, nil
}

func statusLabel(s moderation.Status) string {
	return map[moderation.Status]string{moderation.StatusPending: "Pending", moderation.StatusApproved: "Approved",
		moderation.StatusRejected: "Rejected", moderation.StatusSpam: "Spam"}[s]
}

// render writes a whole admin page, or a fragment when name is "items".
func (p *adminPages) render(c echo.Context, status int, name string, data page) error {
	var buf bytes.Buffer
	var err error
	if name == "items" {
		err = p.sets["queue"].ExecuteTemplate(&buf, "items", data)
	} else {
		err = p.sets[name].ExecuteTemplate(&buf, "layout.html", data)
	}
	if err != nil {
		return err
	}
	h := c.Response().Header()
	if name != "items" { // a fragment keeps the API's CSP, which allows nothing at all
		h.Set("Content-Security-Policy", adminCSP)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	return c.HTMLBlob(status, buf.Bytes())
}

// initAdmin builds what the admin page needs; called once by New.
func (s *Server) initAdmin(pub *url.URL) error {
	sessions, err := moderation.NewSessions(context.Background(), s.svc)
	if err != nil {
		return err
	}
	fallback := moderation.SiteOrigins(s.cfg.Origins, s.cfg.PublicURL)
	// A post is linked only when its key is a page of its own site.
	origins := func(site string) []string {
		if o, err := s.svc.SiteOrigins(context.Background(), site); err == nil && len(o) > 0 {
			return o
		}
		return fallback
	}
	pages, err := newAdminPages(embed.Files, func(site, post string) string { return moderation.PostLink(post, origins(site)) })
	if err != nil {
		return err
	}
	s.sessions, s.pages, s.cookie = sessions, pages, newSessionCookie(pub)
	return nil
}

// adminRoutes adds the admin pages and the admin page's API endpoints.
func (s *Server) adminRoutes(api *echo.Group) {
	e := s.echo
	e.GET("/admin/static/:name", func(c echo.Context) error { return s.assets.handler("admin/static/" + c.Param("name"))(c) })
	e.GET("/admin/login", s.handleLoginPage)
	formLimit := middleware.BodyLimit(publicBodyLimit)
	e.POST("/admin/login", s.handleLogin, formLimit)
	e.POST("/admin/logout", s.handleLogout, formLimit, s.requireSession)

	pages := e.Group("/admin", s.requirePage)
	pages.GET("", s.handleQueue)
	pages.GET("/audit", s.handleAuditPage)
	pages.GET("/account", s.simplePage("account", "Your account", "account", moderation.PermOwnAccount))
	pages.GET("/team", s.handleTeamPage)
	pages.GET("/settings", s.handleSettingsPage)

	api.GET("/queue", s.handleQueueItems)
	api.GET("/counts", s.handleStatusCounts)
	api.POST("/comments/:id/restore", s.handleModerate(moderation.ActionRestore))
	api.POST("/comments/:id/reply", s.handleReply)
	api.GET("/moderators", s.handleTeam)
	api.POST("/moderators", s.handleAddModerator)
	api.PATCH("/moderators/:name", s.handleSetRole)
	api.DELETE("/moderators/:name", s.handleRemoveModerator)
	api.POST("/account/password", s.handleChangePassword)
	api.GET("/tokens", s.handleTokens)
	api.POST("/tokens", s.handleCreateToken)
	api.DELETE("/tokens/:id", s.handleRevokeToken)
}

// requireSession accepts the admin page's cookie only (for sign-out).
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error { return s.withSession(c, next) }
}

// requirePage sends visitors without a session to the sign-in form.
func (s *Server) requirePage(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, sess, err := s.session(c)
		if errors.Is(err, moderation.ErrUnauthorized) {
			if c.Request().Header.Get("Sec-Fetch-Site") == "cross-site" {
				return s.bounce(c)
			}
			return c.Redirect(http.StatusSeeOther, "/admin/login")
		}
		if err != nil {
			return err
		}
		c.Set(actorKey, actor)
		c.Set(sessionKey, sess)
		return next(c)
	}
}

// bounce answers a link followed from another site (a notification email in
// webmail, say): the browser left the SameSite=Strict cookie off, so the page
// reloads itself, now as a same-site navigation that carries the cookie. A
// visitor who is not signed in then goes on to the sign-in form.
func (s *Server) bounce(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", adminCSP)
	h.Set("Cache-Control", "no-store")
	h.Set("Refresh", "0")
	return c.HTML(http.StatusOK, `<!doctype html><html lang="en"><meta charset="utf-8"><title>Parley</title>`+
		`<meta http-equiv="refresh" content="0"><p>Opening the admin page…</p></html>`)
}

// newPage fills what every signed-in page shows: who, the CSRF token and the
// counts per status.
func (s *Server) newPage(c echo.Context, title, nav string) (page, error) {
	actor := actorOf(c)
	site, err := s.adminSite(c)
	if err != nil {
		return page{}, err
	}
	counts, err := s.svc.StatusCounts(c.Request().Context(), actor, site)
	if err != nil {
		return page{}, err
	}
	sites, err := s.siteChoices(c, site)
	if err != nil {
		return page{}, err
	}
	return page{Title: title, Nav: nav, Me: actor, CSRF: sessionOf(c).CSRF, Counts: counts, Site: site, Sites: sites}, nil
}

// simplePage serves a page whose content its script loads.
func (s *Server) simplePage(name, title, nav string, needs moderation.Permission) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := s.newPage(c, title, nav)
		if err != nil {
			return err
		}
		if !p.Me.May(needs) {
			return s.pages.render(c, http.StatusForbidden, "forbidden", p)
		}
		p.Scripts = []string{"forms.js"}
		return s.pages.render(c, http.StatusOK, name, p)
	}
}

// queueView is the queue page's data.
type queueView struct {
	Query    moderation.Query
	Comments []queueItem
	Next     string
}

// queueItem is a comment as the queue shows it: a reply with the comment it
// answers, so that a moderator reads it in context.
type queueItem struct {
	*moderation.Comment
	ReplyTo  *replyParent
	AllSites bool // the queue mixes sites, so each comment names its own
}

// replyParent is what the queue shows of a reply's parent: its author and
// the first words of its text, linked to it in the queue. Author is empty
// when the parent is gone.
type replyParent struct {
	ID, Author, Excerpt, Link string
}

// queue loads one page of the queue, with each reply's parent.
func (s *Server) queue(ctx context.Context, actor moderation.Actor, q moderation.Query) (queueView, error) {
	view := queueView{Query: q}
	comments, next, err := s.svc.Comments(ctx, actor, q)
	if err != nil {
		return view, err
	}
	view.Next = next
	parents := map[string]*replyParent{}
	for _, c := range comments {
		item := queueItem{Comment: c, AllSites: q.Site == moderation.AllSites}
		if c.Parent != "" {
			if parents[c.Parent] == nil {
				parents[c.Parent], err = s.replyParent(ctx, actor, c.Site, c.Parent)
				if err != nil {
					return view, err
				}
			}
			item.ReplyTo = parents[c.Parent]
		}
		view.Comments = append(view.Comments, item)
	}
	return view, nil
}

func (s *Server) replyParent(ctx context.Context, actor moderation.Actor, site, id string) (*replyParent, error) {
	p, err := s.svc.Comment(ctx, actor, site, id)
	if errors.Is(err, moderation.ErrNotFound) {
		return &replyParent{ID: id}, nil
	}
	if err != nil {
		return nil, err
	}
	link := "/admin?" + url.Values{"site": {p.Site}, "status": {string(p.Status)}, "post": {p.Post}}.Encode() + "#c-" + p.ID
	return &replyParent{ID: id, Author: p.Author, Excerpt: firstWords(p.Body, 12, 90), Link: link}, nil
}

// firstWords is the start of a text on one line: at most words words and
// about limit characters, with an ellipsis when something was cut.
func firstWords(text string, words, limit int) string {
	fields := strings.Fields(text)
	cut := len(fields) > words
	if cut {
		fields = fields[:words]
	}
	out := strings.Join(fields, " ")
	if r := []rune(out); len(r) > limit {
		out, cut = strings.TrimSpace(string(r[:limit])), true
	}
	if cut {
		out += "…"
	}
	return out
}

func queryOf(c echo.Context) moderation.Query {
	q := moderation.Query{Status: moderation.Status(c.QueryParam("status")), Post: c.QueryParam("post"),
		Search: c.QueryParam("q"), Cursor: c.QueryParam("cursor"), Limit: queuePage}
	if !q.Status.Valid() {
		q.Status = moderation.StatusPending
	}
	if c.QueryParam("sort") == moderation.SortScore {
		q.Sort = moderation.SortScore
	}
	q.MinScore, _ = scoreParam(c, "min_score") // the page ignores a score out of range
	return q
}

// handleQueue serves the queue page: one status tab, oldest first, with the
// search and post filter applied.
func (s *Server) handleQueue(c echo.Context) error {
	p, err := s.newPage(c, "Queue", "queue")
	if err != nil {
		return err
	}
	q := queryOf(c)
	q.Site = p.Site
	view, err := s.queue(c.Request().Context(), p.Me, q)
	var ve *moderation.ValidationError
	if errors.As(err, &ve) {
		p.Error = "The search is too long."
	} else if err != nil {
		return err
	}
	p.Title = statusLabel(view.Query.Status)
	p.Scripts, p.Data = []string{"queue.js", "score.js"}, view
	return s.pages.render(c, http.StatusOK, "queue", p)
}

// handleQueueItems serves the next page of queue items as HTML, for "load
// more" and for polling; the cursor of the page after it is in X-Next-Cursor.
func (s *Server) handleQueueItems(c echo.Context) error {
	q := queryOf(c)
	var err error
	if q.Site, err = s.adminSite(c); err != nil {
		return err
	}
	view, err := s.queue(c.Request().Context(), actorOf(c), q)
	if err != nil {
		return err
	}
	c.Response().Header().Set("X-Next-Cursor", view.Next)
	return s.pages.render(c, http.StatusOK, "items", page{Data: view})
}

// auditView is the audit page's data.
type auditView struct {
	Entries  []moderation.AuditEntry
	Next     uint64
	Instance bool // the instance's own log (owners): sign-ins, team, tokens, sites
}

// handleAuditPage shows moderator actions, newest first.
func (s *Server) handleAuditPage(c echo.Context) error {
	p, err := s.newPage(c, "Audit log", "audit")
	if err != nil {
		return err
	}
	before, _ := strconv.ParseUint(c.QueryParam("before"), 10, 64)
	instance := c.QueryParam("log") == "instance" && p.Me.Can(moderation.RoleOwner)
	site := p.Site
	if instance {
		site = ""
	}
	entries, err := s.svc.AuditLog(c.Request().Context(), p.Me, site, 100, before)
	if err != nil {
		return err
	}
	view := auditView{Entries: entries, Instance: instance}
	if n := len(entries); n == 100 && entries[n-1].Seq > 1 {
		view.Next = entries[n-1].Seq
	}
	p.Data = view
	return s.pages.render(c, http.StatusOK, "audit", p)
}

// teamView is the team page's data.
type teamView struct {
	Moderators []moderation.ModeratorInfo
	Tokens     []moderation.TokenInfo
}

// handleTeamPage shows moderators and API tokens to owners.
func (s *Server) handleTeamPage(c echo.Context) error {
	p, err := s.newPage(c, "Team and tokens", "team")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var view teamView
	view.Moderators, err = s.svc.Team(ctx, p.Me)
	if errors.Is(err, moderation.ErrForbidden) {
		return s.pages.render(c, http.StatusForbidden, "forbidden", p)
	}
	if err != nil {
		return err
	}
	if view.Tokens, err = s.svc.TokenList(ctx, p.Me); err != nil {
		return err
	}
	p.Scripts, p.Data = []string{"forms.js"}, view
	return s.pages.render(c, http.StatusOK, "team", p)
}
