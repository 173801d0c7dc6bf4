package server

import (
	"parley/moderation"

	"sync"

	"github.com/labstack/echo/v4"
)

// handleCeiling is a benchmarking aid, routed only when Config.BenchCeiling
// is set (parley serve --bench-ceiling). GET /api/bench/ceiling?post=KEY
// answers exactly what GET /api/comments?post=KEY answers (same bytes, same
// headers, same middleware, same server) from a response encoded once on
// the first request and never invalidated, skipping the read cache. A load
// test compares the two to see what the cache costs over serving a fixed
// byte slice. It shows only what the public thread shows.
func (s *Server) handleCeiling() echo.HandlerFunc {
	var captured sync.Map // post → *response
	return func(c echo.Context) error {
		post := c.QueryParam("post")
		if r, ok := captured.Load(post); ok {
			return serveResponse(c, r.(*response))
		}
		body, _, err := s.encodeThread(c.Request().Context(), moderation.DefaultSite, post)
		if err != nil {
			return err
		}
		r, err := newResponse(body)
		if err != nil {
			return err
		}
		actual, _ := captured.LoadOrStore(post, r)
		return serveResponse(c, actual.(*response))
	}
}
