package server

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

// handleHealth answers while the process serves: for a liveness probe.
func (s *Server) handleHealth(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyTimeout bounds the database check of /readyz.
const readyTimeout = 2 * time.Second

// handleReady answers 200 when the database is usable, else 503: for a
// readiness probe or a load balancer.
func (s *Server) handleReady(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if err := s.svc.Ready(ctx); err != nil {
		s.log.Error("not ready", "error", err)
		return moderation.Errorf(moderation.CodeUnavailable, "The database is not usable.")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// handleMetrics serves Prometheus metrics to a scraper that sends the
// metrics token as a bearer token. Without a configured token /metrics does
// not exist: the numbers tell an outsider more than they should.
func (s *Server) handleMetrics(c echo.Context) error {
	if s.cfg.Metrics == nil || s.cfg.MetricsToken == "" {
		return moderation.ErrNotFound
	}
	scheme, token, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	if !strings.EqualFold(scheme, "Bearer") ||
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.cfg.MetricsToken)) != 1 {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="parley metrics"`)
		return moderation.Errorf(moderation.CodeUnauthorized, "Send the metrics token as \"Authorization: Bearer <token>\".")
	}
	s.cfg.Metrics.Handler().ServeHTTP(c.Response(), c.Request())
	return nil
}
