package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"parley/embed"
	"parley/moderation"
)

// views are the server-rendered pages, parsed once at start: the approved
// thread as an HTML fragment ("thread") and the no-JavaScript page
// ("page.html").
var views = template.Must(template.ParseFS(embed.Files, "thread.html", "page.html"))

// pageStyle is the no-JavaScript page's stylesheet, inlined in the page and
// allowed by its hash, so that the page's CSP needs no 'unsafe-inline'.
var pageStyle = func() template.CSS {
	css, err := fs.ReadFile(embed.Files, "page.css")
	if err != nil {
		panic(err)
	}
	return template.CSS(css)
}()

// renderedPageCSP lets the page run no script at all and post its form only
// to Parley itself. Its only image is the empty icon the page declares, so
// that browsers do not ask for /favicon.ico against the policy.
var renderedPageCSP = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}()

// threadView is a post's approved thread, as the templates show it.
type threadView struct {
	Site     string
	Post     string
	Count    int
	Comments []*commentView
	WriteURL string // where to write a comment; empty on the page that has the form
}

// commentView is one comment with its replies, in tree order.
type commentView struct {
	moderation.Public
	Body     template.HTML // the sanitized HTML the renderer stored
	Date     string
	Datetime string
	ReplyURL string
	Replies  []*commentView
}

// pageView is the no-JavaScript page of one post.
type pageView struct {
	Thread    threadView
	Parent    *commentView // the comment being replied to, if any
	Token     string
	Action    string
	CancelURL string
	CSS       template.CSS
}

// handleThreadHTML serves a post's approved thread as a sanitized HTML
// fragment with schema.org microdata, for blogs to include at build or
// request time so that search engines see the comments.
func (s *Server) handleThreadHTML(c echo.Context) error {
	site, err := s.publicSite(c, c.QueryParam("site"))
	if err != nil {
		return err
	}
	view, err := s.thread(c.Request().Context(), site, c.QueryParam("post"))
	if err != nil {
		return err
	}
	view.WriteURL = s.pageURL(site, view.Post, "")
	var buf bytes.Buffer
	if err := views.ExecuteTemplate(&buf, "thread", view); err != nil {
		return err
	}
	return serveHTML(c, buf.Bytes())
}

// handlePage serves GET /p?post=KEY[&parent=ID]: the approved comments and a
// plain HTML form that posts to /api/comments and comes back confirmed.
func (s *Server) handlePage(c echo.Context) error {
	site, err := s.publicSite(c, c.QueryParam("site"))
	if err != nil {
		return err
	}
	post := c.QueryParam("post")
	thread, err := s.thread(c.Request().Context(), site, post)
	if err != nil {
		return err
	}
	page := pageView{Thread: thread, Action: s.publicURL() + "/api/comments", CSS: pageStyle,
		CancelURL: s.pageURL(site, post, ""), Token: s.formToken(c.Request().Context(), site, post)}
	if id := c.QueryParam("parent"); id != "" {
		page.Parent = findComment(thread.Comments, id)
		if page.Parent != nil && page.Parent.Deleted {
			page.Parent = nil // the server takes replies only to published comments
		}
	}
	var buf bytes.Buffer
	if err := views.ExecuteTemplate(&buf, "page.html", page); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", renderedPageCSP)
	h.Set("Cache-Control", "no-store") // the form's token is single-use
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// thread builds the tree of a post's approved comments, oldest first at
// every level. A reply whose parent is not public hangs at the top.
func (s *Server) thread(ctx context.Context, site, post string) (threadView, error) {
	comments, err := s.svc.Thread(ctx, site, post)
	if err != nil {
		return threadView{}, err
	}
	view := threadView{Site: site, Post: post}
	byID := make(map[string]*commentView, len(comments))
	for _, pc := range comments {
		cv := &commentView{Public: pc, Body: template.HTML(pc.HTML), // sanitized by moderation.Renderer
			Date: pc.Created.Format("2 January 2006 at 15:04 MST"), Datetime: pc.Created.Format(time.RFC3339),
			ReplyURL: s.pageURL(site, post, pc.ID)}
		byID[pc.ID] = cv
		if !pc.Deleted {
			view.Count++
		}
	}
	for _, pc := range comments {
		cv := byID[pc.ID]
		if parent := byID[parentID(pc)]; parent != nil {
			parent.Replies = append(parent.Replies, cv)
		} else {
			view.Comments = append(view.Comments, cv)
		}
	}
	return view, nil
}

func parentID(pc moderation.Public) string {
	if pc.Parent == nil {
		return ""
	}
	return *pc.Parent
}

func findComment(cs []*commentView, id string) *commentView {
	for _, c := range cs {
		if c.ID == id {
			return c
		}
		if r := findComment(c.Replies, id); r != nil {
			return r
		}
	}
	return nil
}

func (s *Server) publicURL() string { return strings.TrimSuffix(s.cfg.PublicURL, "/") }

// pageURL is the absolute address of a post's no-JavaScript page, at its
// form, replying to parent when given: fragments are included on other sites.
func (s *Server) pageURL(site, post, parent string) string {
	q := url.Values{"post": {post}}
	if site != moderation.DefaultSite {
		q.Set("site", site)
	}
	if parent != "" {
		q.Set("parent", parent)
	}
	return s.publicURL() + "/p?" + q.Encode() + "#parley-form"
}

// formToken is a form token for the plain form, as the widget gets from
// GET /api/form, or "" when the server hands out none. A proof of work, which
// a page without JavaScript cannot solve, is left to the spam pipeline to weigh.
func (s *Server) formToken(ctx context.Context, site, post string) string {
	if s.cfg.Spam == nil {
		return ""
	}
	form, err := s.cfg.Spam.Form(ctx, site, post)
	if err != nil {
		return ""
	}
	return form.Token
}

// serveHTML writes a rendered fragment with a content ETag, answering 304
// when the client already has it.
func serveHTML(c echo.Context, body []byte) error {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := c.Response().Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.HTMLBlob(http.StatusOK, body)
}
