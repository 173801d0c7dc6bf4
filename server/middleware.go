package server

import (
	"context"
	"crypto/rand"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"parley/moderation"
)

// requestIDs names every request, for the log lines and the error bodies
// that concern it. The server makes the ID and sends it back as
// X-Request-ID. A client's own X-Request-ID is never adopted: anyone could
// then forge or collide the IDs an operator correlates logs by. An ID sent
// by one of --trusted-proxies (nginx's $request_id, say) is kept as a
// separate field, upstream_request_id, so that the proxy's logs still join
// Parley's.
//
// An ID is a random prefix drawn at start and a counter: unique across
// restarts, ordered within one, and cheap (no randomness per request).
type requestIDs struct {
	prefix  string
	n       atomic.Uint64
	trusted []*net.IPNet
}

// maxUpstreamID caps the length of an upstream request ID kept in logs.
const maxUpstreamID = 64

const upstreamIDKey = "parley.upstream_request_id"

func newRequestIDs(trusted []*net.IPNet) *requestIDs {
	return &requestIDs{prefix: rand.Text()[:10] + "-", trusted: trusted}
}

func (ids *requestIDs) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var buf [32]byte
		id := strconv.AppendUint(append(buf[:0], ids.prefix...), ids.n.Add(1), 36)
		c.Response().Header()[echo.HeaderXRequestID] = []string{string(id)} // canonical already
		if len(ids.trusted) > 0 {
			if up := c.Request().Header.Get(echo.HeaderXRequestID); up != "" && ids.fromProxy(c.Request()) {
				c.Set(upstreamIDKey, cleanUpstreamID(up))
			}
		}
		return next(c)
	}
}

// fromProxy says whether the peer of r, not any address it claims, is a
// trusted proxy.
func (ids *requestIDs) fromProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	for _, n := range ids.trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// cleanUpstreamID keeps the printable ASCII of id, up to maxUpstreamID
// bytes: what any proxy's request ID is made of.
func cleanUpstreamID(id string) string {
	out := make([]byte, 0, min(len(id), maxUpstreamID))
	for i := 0; i < len(id) && len(out) < maxUpstreamID; i++ {
		if id[i] > ' ' && id[i] < 0x7f {
			out = append(out, id[i])
		}
	}
	return string(out)
}

// observe records each answered request: its latency by route template in
// the request metrics (Config.Metrics), and one structured line in the
// access log (unless Config.NoAccessLog). The line holds the route template,
// not the URL, and never an address, email or body. Errors are turned into
// responses here, first, so that both see the status the client got. One
// middleware does both so that a request reads the clock twice, not four
// times.
//
// The line goes straight to the logger's handler, in whatever format it
// writes, with the same fields Logger.LogAttrs would give it but without
// the caller's program counter: Logger.LogAttrs walks the stack for it on
// every call (runtime.Callers), for a source location Parley's handlers do
// not print, and that walk was an eighth of the line's cost (pprof of
// BenchmarkThread/served).
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	h := s.log.Handler()
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, resp := c.Request(), c.Response()
		end := time.Now()
		if s.cfg.Metrics != nil {
			aborted, _ := c.Get(abortedKey).(bool)
			s.cfg.Metrics.ObserveRequest(req.Method, c.Path(), resp.Status, aborted, end.Sub(start))
		}
		ctx := req.Context()
		if s.cfg.NoAccessLog || !h.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		var id string
		if v := resp.Header()[echo.HeaderXRequestID]; len(v) > 0 { // set by requestIDs
			id = v[0]
		}
		rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
		rec.AddAttrs(
			slog.String("request_id", id),
			slog.String("method", req.Method),
			slog.String("route", c.Path()),
			slog.Int("status", resp.Status),
			slog.Int64("bytes", resp.Size),
			slog.Duration("duration", end.Sub(start)),
		)
		if up, ok := c.Get(upstreamIDKey).(string); ok {
			rec.AddAttrs(slog.String("upstream_request_id", up))
		}
		_ = h.Handle(ctx, rec) // as Logger.LogAttrs, which drops the error too
		return nil
	}
}

// securityHeaders applies to every response; API answers also forbid any
// content or framing, since they are data, never a page.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = referrerPolicy
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			h["Content-Security-Policy"] = apiCSP
		}
		return next(c)
	}
}

// Header values set on every answer, built once. They are assigned to the
// header map as they are (the keys are already canonical) instead of with
// Header.Set, which would allocate a slice per header per request. They are
// never modified: a later Add appends to a full slice, so it copies.
var (
	nosniff           = []string{"nosniff"}
	referrerPolicy    = []string{"strict-origin-when-cross-origin"}
	apiCSP            = []string{"default-src 'none'; frame-ancestors 'none'"}
	publicCache       = []string{publicCacheControl}
	contentTypeJSON   = []string{echo.MIMEApplicationJSONCharsetUTF8}
	contentEncodingGz = []string{"gzip"}
	// the Vary of an answer that has a gzip encoding, without and with the
	// CORS middleware's Vary: Origin
	varyEncoding       = []string{echo.HeaderAcceptEncoding}
	varyOriginEncoding = []string{echo.HeaderOrigin, echo.HeaderAcceptEncoding}
)

// cors lets the pages of every site call the public API, without
// credentials; an origin of no site gets no CORS answer.
func (s *Server) cors() echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOriginFunc: func(o string) (bool, error) {
			_, ok, err := s.svc.SiteForOrigin(context.Background(), o)
			return ok, err
		},
		AllowMethods:  []string{http.MethodGet, http.MethodPost},
		AllowHeaders:  []string{echo.HeaderContentType, "If-None-Match"},
		ExposeHeaders: []string{"ETag", "Retry-After"},
		MaxAge:        86400,
	})
}

// checkOrigin refuses writes from pages on origins that are not allowed: CORS
// only hides answers, while a plain form post would still arrive.
func (s *Server) checkOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		o := c.Request().Header.Get(echo.HeaderOrigin)
		if c.Request().Method == http.MethodPost && o != "" && o != s.ownOrigin && !s.allowedOrigin(c, o) {
			return moderation.Errorf(moderation.CodeForbidden, "This site is not allowed to post comments here.")
		}
		return next(c)
	}
}

// rateLimit limits submissions per client, answering 429 with Retry-After.
// It counts in this process alone: several instances behind a balancer each
// allow the limit (docs/operations.md, "More than one machine").
func (s *Server) rateLimit() echo.MiddlewareFunc {
	if s.cfg.RateLimit <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	perSecond := rate.Limit(float64(s.cfg.RateLimit) / 60)
	retryAfter := strconv.Itoa(int(math.Ceil(60 / float64(s.cfg.RateLimit))))
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: perSecond, Burst: s.cfg.RateLimit, ExpiresIn: 3 * time.Minute,
		}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return s.svc.HashIP(c.RealIP()), nil },
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", retryAfter)
			return moderation.Errorf(moderation.CodeRateLimited, "You are posting too fast; please wait a minute and try again.")
		},
		ErrorHandler: func(c echo.Context, err error) error { return err },
	})
}

const actorKey = "parley.actor"

// requireModerator lets through requests from a moderator, identified by an
// API token (Authorization: Bearer …) or by the admin page's session cookie
// with its CSRF token (see withSession).
func (s *Server) requireModerator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		auth := c.Request().Header.Get(echo.HeaderAuthorization)
		if auth == "" {
			return s.withSession(c, next)
		}
		scheme, secret, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return moderation.ErrUnauthorized
		}
		actor, err := s.svc.Authenticate(c.Request().Context(), strings.TrimSpace(secret))
		if err != nil {
			return err
		}
		actor.From = s.svc.HashIP(c.RealIP())
		c.Set(actorKey, actor)
		return next(c)
	}
}

func actorOf(c echo.Context) moderation.Actor {
	a, _ := c.Get(actorKey).(moderation.Actor)
	return a
}
