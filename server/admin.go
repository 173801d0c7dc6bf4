package server

import (
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

type commentPage struct {
	Comments   []*moderation.Comment `json:"comments"`
	NextCursor string                `json:"next_cursor,omitempty"`
}

// handleList lists comments of one status for moderators, oldest first.
func (s *Server) handleList(c echo.Context) error {
	limit := 0
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return &moderation.ValidationError{Fields: map[string]string{"limit": "must be a positive whole number"}}
		}
		limit = n
	}
	site, err := s.adminSite(c)
	if err != nil {
		return err
	}
	minScore, err := scoreParam(c, "min_score")
	if err != nil {
		return err
	}
	comments, next, err := s.svc.Comments(c.Request().Context(), actorOf(c), moderation.Query{Site: site,
		Status: moderation.Status(c.QueryParam("status")), Post: c.QueryParam("post"),
		Limit: limit, Cursor: c.QueryParam("cursor"), Search: c.QueryParam("q"),
		Sort: c.QueryParam("sort"), MinScore: minScore,
	})
	if err != nil {
		return err
	}
	if comments == nil {
		comments = []*moderation.Comment{}
	}
	return c.JSON(http.StatusOK, commentPage{Comments: comments, NextCursor: next})
}

// handleGet returns one comment with all fields.
func (s *Server) handleGet(c echo.Context) error {
	site, err := s.adminSite(c)
	if err != nil {
		return err
	}
	comment, err := s.svc.Comment(c.Request().Context(), actorOf(c), site, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, comment)
}

// handleModerate moves one comment and answers it as it is now.
func (s *Server) handleModerate(action moderation.Action) echo.HandlerFunc {
	return func(c echo.Context) error {
		site, err := s.adminSite(c)
		if err != nil {
			return err
		}
		comment, err := s.svc.ModerateOne(c.Request().Context(), actorOf(c), site, c.Param("id"), action)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, comment)
	}
}

// handleDelete removes a comment for good.
func (s *Server) handleDelete(c echo.Context) error {
	site, err := s.adminSite(c)
	if err != nil {
		return err
	}
	if _, err := s.svc.Moderate(c.Request().Context(), actorOf(c), site, []string{c.Param("id")}, moderation.ActionDelete); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type bulkRequest struct {
	IDs    []string          `json:"ids"`
	Action moderation.Action `json:"action"`
}

// handleBulk applies one action to many comments, all or nothing.
func (s *Server) handleBulk(c echo.Context) error {
	var req bulkRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if c.QueryParam("site") == moderation.AllSites {
		return s.bulkEverywhere(c, req)
	}
	site, err := s.adminSite(c)
	if err != nil {
		return err
	}
	res, err := s.svc.Moderate(c.Request().Context(), actorOf(c), site, req.IDs, req.Action)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

type auditPage struct {
	Entries []moderation.AuditEntry `json:"entries"`
	Next    uint64                  `json:"next,omitempty"`
}

// handleAudit lists moderator actions, newest first; ?before=SEQ pages back.
func (s *Server) handleAudit(c echo.Context) error {
	before, _ := strconv.ParseUint(c.QueryParam("before"), 10, 64)
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	site := "" // the instance's own log: sites and people
	if c.QueryParam("site") != "" || !actorOf(c).Can(moderation.RoleOwner) {
		var err error
		if site, err = s.adminSite(c); err != nil {
			return err
		}
	}
	entries, err := s.svc.AuditLog(c.Request().Context(), actorOf(c), site, limit, before)
	if err != nil {
		return err
	}
	page := auditPage{Entries: entries}
	if page.Entries == nil {
		page.Entries = []moderation.AuditEntry{}
	}
	if n := len(entries); n > 0 && entries[n-1].Seq > 1 {
		page.Next = entries[n-1].Seq
	}
	return c.JSON(http.StatusOK, page)
}

// bindJSON decodes a JSON request body, refusing other media types.
func bindJSON(c echo.Context, v any) error {
	if !isJSON(c.Request()) {
		return echo.ErrUnsupportedMediaType
	}
	if err := (&echo.DefaultBinder{}).BindBody(c, v); err != nil {
		return badRequest("The request body is not valid JSON.")
	}
	return nil
}

func isJSON(r *http.Request) bool {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	return mediaType == echo.MIMEApplicationJSON
}
