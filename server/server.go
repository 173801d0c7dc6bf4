// Package server is Parley's HTTP face: Echo routes, thin handlers, the
// middleware for CORS, limits, auth and headers, and the one place where
// domain errors become HTTP responses. It imports moderation and embed; it
// knows nothing of bbolt.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"parley/metrics"
	"parley/moderation"
)

// Config is what the server needs to know about its place on the web.
type Config struct {
	PublicURL string   // where blogs load embed.js from, e.g. https://comments.example.com
	Origins   []string // the default site's origins when it has none yet (an upgrade); see moderation.Service.SeedDefaultOrigins
	RateLimit int      // submissions per minute per client; 0 turns the limit off

	TrustedProxies []*net.IPNet           // proxies whose X-Forwarded-For is believed; none: the peer is the client
	Spam           *moderation.SpamFilter // form tokens and blocklists; nil answers 404 there
	Timeouts       Timeouts               // how long clients may take; zero fields keep the defaults
	Metrics        *metrics.Metrics       // nil: no request metrics
	MetricsToken   string                 // the bearer token /metrics asks for; "" turns /metrics off
	// ImportLimit is the largest file POST /api/admin/import takes, in bytes;
	// 0 means MaxImportBytes.
	ImportLimit int64
	CacheSize   int64 // bytes of encoded threads and counts kept; 0 is DefaultCacheSize, negative turns the cache off
	// NoAccessLog turns off the line logged per request; errors are logged
	// still. For a proxy in front that keeps its own access log.
	NoAccessLog bool
	// BenchCeiling routes /api/bench/ceiling, a benchmarking aid (see handleCeiling).
	BenchCeiling bool
}

// Server routes HTTP requests to the moderation service.
type Server struct {
	echo *echo.Echo
	svc  *moderation.Service
	cfg  Config
	log  *slog.Logger
	// ownOrigin is the public URL's: Parley's own pages (the demo, /p)
	// post from it for the site they name.
	ownOrigin string
	assets    *assets

	// the admin page: sessions, their cookie and the parsed templates
	sessions *moderation.Sessions
	cookie   sessionCookie
	pages    *adminPages
	cache    *responseCache
	events   *eventHub // the admin page's live queue (events.go)
	// root is what every request goes through, around its route: built
	// once in routes, see ServeHTTP.
	root echo.HandlerFunc
}

// Limits of request bodies, enforced before anything is read.
const (
	publicBodyLimit = "64K"
	adminBodyLimit  = "1M"
)

// New builds the server and its route table.
func New(cfg Config, svc *moderation.Service, log *slog.Logger) (*Server, error) {
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || pub.Scheme == "" || pub.Host == "" {
		return nil, fmt.Errorf("public URL %q must be absolute, like https://comments.example.com", cfg.PublicURL)
	}
	s := &Server{echo: echo.New(), svc: svc, cfg: cfg, log: log, ownOrigin: origin(pub)}
	if _, err := svc.SeedDefaultOrigins(context.Background(), cfg.Origins); err != nil {
		return nil, fmt.Errorf("give the default site its origins: %w", err)
	}
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if err := s.initAdmin(pub); err != nil {
		return nil, err
	}
	s.cache = newResponseCache(cmp.Or(cfg.CacheSize, DefaultCacheSize))
	svc.Subscribe(s.cache.listen)
	svc.SubscribeSites(s.cache.dropSite)
	s.events = newEventHub(maxEventStreams)
	svc.Subscribe(s.events.listen)
	svc.SubscribeResync(s.cache.dropAll) // another instance's changes may have been missed
	svc.SubscribeResync(s.events.resync)
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = clientIP(cfg.TrustedProxies)
	s.routes()
	return s, nil
}

// routes is the one route table, grouped by who may call.
func (s *Server) routes() {
	e := s.echo
	// Around every request, matched or not, in this order. Not e.Use: Echo
	// wraps its root middleware around each request's handler anew, a
	// closure per middleware per request; this chain ends in a call of
	// whatever handler the router found, so it is built once.
	s.root = applyMiddleware(func(c echo.Context) error { return c.Handler()(c) },
		newRequestIDs(s.cfg.TrustedProxies).middleware, s.observe, middleware.Recover(), securityHeaders)
	e.GET("/healthz", s.handleHealth)
	e.GET("/readyz", s.handleReady)
	e.GET("/metrics", s.handleMetrics)

	// The pages that links in emails open: a GET only shows what the link
	// would do (mail scanners fetch links); the page's button POSTs to act.
	e.GET("/moderate/:token", s.handleModerationPage, pageHeaders)
	e.POST("/moderate/:token", s.handleModerationLink, pageHeaders, middleware.BodyLimit(publicBodyLimit))
	e.GET("/verify/:token", s.handleVerifyPage, pageHeaders)
	e.POST("/verify/:token", s.handleVerify, pageHeaders, middleware.BodyLimit(publicBodyLimit))
	e.GET("/unsubscribe/:token", s.handleUnsubscribePage, pageHeaders)
	e.POST("/unsubscribe/:token", s.handleUnsubscribe, pageHeaders, middleware.BodyLimit(publicBodyLimit))

	e.GET("/", s.assets.handler("index.html"))
	e.GET("/embed.js", s.assets.handler("embed.js"))
	e.GET("/count.js", s.assets.handler("count.js"))
	e.GET("/p", s.handlePage)

	// The public API, the read path: its middleware is composed around each
	// route once, here (see prebuiltGroup); the admin groups below, far less
	// busy, are Echo's own.
	public := newPrebuiltGroup(e, "/api", s.cors(), s.checkOrigin)
	public.GET("/comments", s.handleThread)
	public.POST("/comments", s.handleSubmit, middleware.BodyLimit(publicBodyLimit), s.rateLimit())
	public.GET("/counts", s.handleCounts)
	public.GET("/form", s.handleForm)
	public.POST("/verify", s.handleRequestVerification, middleware.BodyLimit(publicBodyLimit), s.rateLimit())
	if s.cfg.BenchCeiling {
		public.GET("/bench/ceiling", s.handleCeiling())
	}

	admin := e.Group("/api/admin", middleware.BodyLimit(adminBodyLimit), s.requireModerator)
	admin.GET("/comments", s.handleList)
	admin.GET("/comments/:id", s.handleGet)
	admin.POST("/comments/:id/approve", s.handleModerate(moderation.ActionApprove))
	admin.POST("/comments/:id/reject", s.handleModerate(moderation.ActionReject))
	admin.POST("/comments/:id/spam", s.handleModerate(moderation.ActionSpam))
	admin.DELETE("/comments/:id", s.handleDelete)
	admin.POST("/comments/bulk", s.handleBulk)
	admin.POST("/comments/spam-by-score", s.handleSpamByScore)
	admin.GET("/audit", s.handleAudit)
	admin.GET("/blocklist", s.handleBlocklist)
	admin.PUT("/blocklist", s.handleSetBlocklist)
	admin.POST("/forget", s.handleForget)
	admin.GET("/me/notifications", s.handleGetNotifyPrefs)
	admin.PUT("/me/notifications", s.handleSetNotifyPrefs)
	admin.GET("/export", s.handleExport)
	admin.GET("/backup", s.handleBackup)
	admin.GET("/events", s.handleEvents)
	s.adminRoutes(admin) // the admin page and its own endpoints (adminpage.go)
	s.siteRoutes(admin)  // sites and their teams (sitesapi.go)
	// Import takes files far above the admin body limit, so it sits outside the group.
	e.POST("/api/admin/import", s.handleImport, s.requireModerator)
}

// ServeHTTP makes the server an http.Handler. It does what Echo's own
// ServeHTTP does (Parley has no host routers and no Pre middleware), except
// that the root middleware (s.root) is built once instead of per request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := s.echo
	c := e.AcquireContext()
	c.Reset(r, w)
	e.Router().Find(r.Method, echo.GetPath(r), c)
	if err := s.root(c); err != nil {
		e.HTTPErrorHandler(err, c)
	}
	e.ReleaseContext(c)
}

// prebuiltGroup registers routes under a prefix with the group's middleware,
// and the route's own, composed around the handler once, at registration.
// An echo.Group composes them again on every request (Echo's add wraps each
// route in a closure that calls applyMiddleware): a closure per middleware
// per request, on the busiest routes.
//
// Like echo.Group.Use, it registers catch-all routes under the prefix that
// answer 404 through the group's middleware: a path under the prefix that no
// route serves, or a method no route takes there, still goes through CORS.
// That is how a CORS preflight (OPTIONS, which no route takes) is answered.
type prebuiltGroup struct {
	e      *echo.Echo
	prefix string
	mw     []echo.MiddlewareFunc
}

func newPrebuiltGroup(e *echo.Echo, prefix string, mw ...echo.MiddlewareFunc) *prebuiltGroup {
	g := &prebuiltGroup{e: e, prefix: prefix, mw: mw}
	g.e.RouteNotFound(prefix, applyMiddleware(echo.NotFoundHandler, mw...))
	g.e.RouteNotFound(prefix+"/*", applyMiddleware(echo.NotFoundHandler, mw...))
	return g
}

// GET adds a route for GET, with route middleware mw inside the group's.
func (g *prebuiltGroup) GET(path string, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
	g.add(http.MethodGet, path, h, mw)
}

// POST adds a route for POST, with route middleware mw inside the group's.
func (g *prebuiltGroup) POST(path string, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
	g.add(http.MethodPost, path, h, mw)
}

func (g *prebuiltGroup) add(method, path string, h echo.HandlerFunc, mw []echo.MiddlewareFunc) {
	g.e.Add(method, g.prefix+path, applyMiddleware(h, slices.Concat(g.mw, mw)...))
}

// applyMiddleware wraps h in mw, the first outermost.
func applyMiddleware(h echo.HandlerFunc, mw ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// Timeouts protect the server from slow or stuck clients.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	// ShutdownTimeout bounds how long in-flight requests may finish after a signal.
	ShutdownTimeout = 15 * time.Second
)

// Serve answers requests on ln until ctx ends, then lets in-flight requests
// finish (up to ShutdownTimeout) and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	t := s.cfg.Timeouts.orDefaults()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(s.events.close) // event streams never go idle by themselves
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		done <- srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-done
}

func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }
