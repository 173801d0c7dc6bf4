package server

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"parley/moderation"
)

// logRequests writes one structured line per request. It logs the route
// template, not the URL, and never an address, email or body.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		s.log.Info("request",
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("method", c.Request().Method),
			slog.String("route", c.Path()),
			slog.Int("status", c.Response().Status),
			slog.Int64("bytes", c.Response().Size),
			slog.Duration("duration", time.Since(start)))
		return nil
	}
}

// securityHeaders applies to every response; API answers also forbid any
// content or framing, since they are data, never a page.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		}
		return next(c)
	}
}

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
