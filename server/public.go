package server

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

type submitted struct {
	ID      string            `json:"id"`
	Status  moderation.Status `json:"status"`
	Message string            `json:"message"`
}

// handleSubmit takes a comment from the widget (JSON) or a plain form.
// Whatever the spam checks decide, the answer is the same "pending".
func (s *Server) handleSubmit(c echo.Context) error {
	sub, named, isForm, err := readSubmission(c.Request())
	if err != nil {
		return err
	}
	site, err := s.publicSite(c, cmp.Or(c.QueryParam("site"), named))
	if err != nil {
		return err
	}
	client := moderation.Client{IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
	comment, err := s.svc.Submit(c.Request().Context(), site, sub, client)
	if err != nil {
		return err
	}
	if isForm && wantsHTML(c.Request()) {
		return c.Redirect(http.StatusSeeOther, s.backURL(c, site, sub.Post))
	}
	return c.JSON(http.StatusAccepted, submitted{
		ID: comment.ID, Status: moderation.StatusPending, Message: "Your comment is awaiting moderation.",
	})
}

// readSubmission decodes a JSON or form body, checking that every field is
// valid UTF-8 as sent: decoders would silently replace bad bytes. site is
// the site the body names, if any: a claim that publicSite checks against
// the request's origin, never taken as it is.
func readSubmission(r *http.Request) (sub moderation.Submission, site string, isForm bool, err error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if mediaType != echo.MIMEApplicationJSON && mediaType != echo.MIMEApplicationForm {
		return sub, "", false, echo.ErrUnsupportedMediaType
	}
	body := watchBody(r)
	raw, err := io.ReadAll(r.Body)
	if f := body.failure(); f != nil {
		return sub, "", false, f
	}
	if err != nil {
		return sub, "", false, err // the body limit's error, mapped to 413
	}
	if mediaType == echo.MIMEApplicationForm {
		values, err := url.ParseQuery(string(raw))
		if err != nil {
			return sub, "", true, badRequest("The form could not be read.")
		}
		sub = moderation.Submission{
			Post: values.Get("post"), Parent: values.Get("parent"), Author: values.Get("author"),
			Email: values.Get("email"), Website: values.Get("website"), Body: values.Get("body"),
			Token: values.Get("token"), Honeypot: values.Get("nickname"), Nonce: values.Get("pow"),
			NotifyPublished: checked(values.Get("notify_published")), NotifyReplies: checked(values.Get("notify_replies")),
		}
		return sub, values.Get("site"), true, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return sub, "", false, badRequest("The request body is not valid JSON.")
	}
	bad := map[string]string{}
	for name, value := range fields {
		if !utf8.Valid(value) {
			bad[name] = "must be valid UTF-8 text"
		}
	}
	if len(bad) > 0 {
		return sub, "", false, &moderation.ValidationError{Fields: bad}
	}
	if err := json.Unmarshal(raw, &sub); err != nil {
		return sub, "", false, badRequest("Every field must be a JSON string.")
	}
	if v, ok := fields["site"]; ok {
		if err := json.Unmarshal(v, &site); err != nil {
			return sub, "", false, &moderation.ValidationError{Fields: map[string]string{"site": "must be a site id"}}
		}
	}
	return sub, site, false, nil
}

// checked reads an HTML checkbox: present with any value but "false"/"0".
func checked(v string) bool { return v != "" && v != "false" && v != "0" }

func badRequest(message string) error { return echo.NewHTTPError(http.StatusBadRequest, message) }

// wantsHTML reports whether a browser without JavaScript sent the form.
func wantsHTML(r *http.Request) bool {
	for _, part := range splitAccept(r.Header.Get(echo.HeaderAccept)) {
		if part == echo.MIMETextHTML {
			return true
		}
	}
	return false
}

func splitAccept(h string) []string {
	var out []string
	for len(h) > 0 {
		var part string
		part, h, _ = strings.Cut(h, ",")
		mediaType, _, _ := strings.Cut(part, ";")
		out = append(out, strings.TrimSpace(mediaType))
	}
	return out
}

// backURL is where a plain form post returns to: the page it came from when
// that page is on the site's origins, else Parley's own page for the post.
func (s *Server) backURL(c echo.Context, site, post string) string {
	if ref, err := url.Parse(c.Request().Referer()); err == nil && ref.IsAbs() {
		if owner, ok, _ := s.svc.SiteForOrigin(c.Request().Context(), origin(ref)); ok && owner == site {
			ref.Fragment = "parley-submitted"
			return ref.String()
		}
	}
	q := url.Values{"post": {post}}
	if site != moderation.DefaultSite {
		q.Set("site", site)
	}
	return "/p?" + q.Encode() + "#parley-submitted"
}

type thread struct {
	Post     string              `json:"post"`
	Count    int                 `json:"count"`
	Comments []moderation.Public `json:"comments"`
	Widget   moderation.Widget   `json:"widget"` // the site's defaults for what the embed tag leaves unsaid
}

// handleThread serves a post's approved comments, encoded once per change
// of the thread (see responseCache).
//
// A read served from the cache, the usual case, allocates nothing of its
// own: the parameters are read without Echo's map of them (queryParam), and
// the cache key is built on the stack and looked up as it is
// (responseCache.cached); only a miss makes the strings an entry keeps.
func (s *Server) handleThread(c echo.Context) error {
	if queryParam(c, "format") == "html" {
		return s.handleThreadHTML(c)
	}
	site, err := s.publicSite(c, queryParam(c, "site"))
	if err != nil {
		return err
	}
	post := queryParam(c, "post")
	var buf [128]byte
	const prefix = "thread\x00"
	key := appendCacheKey(append(buf[:0], prefix...), site, post)
	if resp := s.cache.cached(key); resp != nil {
		return serveResponse(c, resp)
	}
	ctx := c.Request().Context()
	resp, err := s.cache.get(ctx, string(key), []string{string(key[len(prefix):])}, func() ([]byte, bool, error) {
		return s.encodeThread(ctx, site, post)
	})
	if err != nil {
		return err
	}
	return serveResponse(c, resp)
}

// maxQueryScan is the most parameters queryParam reads itself.
const maxQueryScan = 100

// queryParam is c.QueryParam(name) without the map of every parameter that
// Echo builds on first use (url.ParseQuery: a map, and a slice per
// parameter): the first value of name, decoded as url.ParseQuery decodes it,
// skipping the pairs it skips (a semicolon, a bad escape). A query of more
// than maxQueryScan parameters goes to Echo, so that url.ParseQuery's cap on
// their number still applies as it does everywhere else.
func queryParam(c echo.Context, name string) string {
	raw := c.Request().URL.RawQuery
	if strings.Count(raw, "&") >= maxQueryScan {
		return c.QueryParam(name)
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if k, err := queryUnescape(k); err != nil || k != name {
			continue
		}
		if v, err := queryUnescape(v); err == nil {
			return v
		}
	}
	return ""
}

// queryUnescape is url.QueryUnescape, which copies s even when there is
// nothing to decode.
func queryUnescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// encodeThread is the JSON of a post's public thread, and whether it shows
// any comment (see responseCache's admission).
func (s *Server) encodeThread(ctx context.Context, site, post string) ([]byte, bool, error) {
	comments, err := s.svc.Thread(ctx, site, post)
	if err != nil {
		return nil, false, err
	}
	w, err := s.svc.Widget(ctx, site)
	if err != nil {
		return nil, false, err
	}
	t := thread{Post: post, Comments: comments, Widget: w}
	for _, pc := range comments {
		if !pc.Deleted {
			t.Count++
		}
	}
	body, err := json.Marshal(t)
	return body, len(comments) > 0, err
}

// handleCounts serves approved counts for listing pages. A listing page asks
// for the same posts on every view, so the answer is cached by the set of
// posts asked for, in any order.
func (s *Server) handleCounts(c echo.Context) error {
	site, err := s.publicSite(c, c.QueryParam("site"))
	if err != nil {
		return err
	}
	posts := slices.Compact(slices.Sorted(slices.Values(c.QueryParams()["post"])))
	key, err := json.Marshal(posts)
	if err != nil {
		return err
	}
	keys := make([]string, len(posts))
	for i, p := range posts {
		keys[i] = cacheKey(site, p)
	}
	ctx := c.Request().Context()
	// Any set of keys can be asked for: counts are never "known" answers.
	resp, err := s.cache.get(ctx, "counts\x00"+site+"\x00"+string(key), keys, func() ([]byte, bool, error) {
		counts, err := s.svc.Counts(ctx, site, posts)
		if err != nil {
			return nil, false, err
		}
		body, err := json.Marshal(counts)
		return body, false, err
	})
	if err != nil {
		return err
	}
	return serveResponse(c, resp)
}

func etagMatches(header, etag string) bool {
	for len(header) > 0 {
		var part string
		part, header, _ = strings.Cut(header, ",")
		part = strings.TrimSpace(part)
		if part == "*" || part == etag || part == "W/"+etag {
			return true
		}
	}
	return false
}
