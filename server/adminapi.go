package server

import (
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

// handleStatusCounts answers how many comments each status holds.
func (s *Server) handleStatusCounts(c echo.Context) error {
	site, err := s.adminSite(c)
	if err != nil {
		return err
	}
	counts, err := s.svc.StatusCounts(c.Request().Context(), actorOf(c), site)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, counts)
}

type replyRequest struct {
	Body string `json:"body"`
}

type replyResult struct {
	Parent *moderation.Comment `json:"parent"`
	Reply  *moderation.Comment `json:"reply"`
}

// handleReply approves a comment and publishes a reply to it as the site.
func (s *Server) handleReply(c echo.Context) error {
	var req replyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	site, err := s.adminSite(c)
	if err != nil {
		return err
	}
	parent, reply, err := s.svc.Reply(c.Request().Context(), actorOf(c), site, c.Param("id"), req.Body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, replyResult{Parent: parent, Reply: reply})
}

type moderatorRequest struct {
	Name     string                         `json:"name"`
	Password string                         `json:"password"`
	Role     moderation.Role                `json:"role"`
	Sites    map[string]moderation.SiteRole `json:"sites"`
}

// handleTeam lists moderators for owners.
func (s *Server) handleTeam(c echo.Context) error {
	team, err := s.svc.Team(c.Request().Context(), actorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"moderators": team})
}

// handleAddModerator lets an owner add a moderator.
func (s *Server) handleAddModerator(c echo.Context) error {
	var req moderatorRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = moderation.RoleModerator
	}
	if err := s.svc.AddModeratorAs(c.Request().Context(), actorOf(c), req.Name, req.Password, req.Role, req.Sites); err != nil {
		return err
	}
	return c.NoContent(http.StatusCreated)
}

// handleSetRole lets an owner change a moderator's role.
func (s *Server) handleSetRole(c echo.Context) error {
	var req moderatorRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := s.svc.SetRole(c.Request().Context(), actorOf(c), pathParam(c, "name"), req.Role); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// handleRemoveModerator lets an owner remove a moderator.
func (s *Server) handleRemoveModerator(c echo.Context) error {
	if err := s.svc.RemoveModerator(c.Request().Context(), actorOf(c), pathParam(c, "name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type passwordRequest struct {
	Current  string `json:"current"`
	Password string `json:"password"`
}

// handleChangePassword sets the signed-in moderator's own password.
func (s *Server) handleChangePassword(c echo.Context) error {
	var req passwordRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	sess := sessionOf(c)
	if sess == nil {
		return moderation.Errorf(moderation.CodeForbidden, "Change a password from the admin page, not with an API token.")
	}
	if err := s.svc.ChangePassword(c.Request().Context(), actorOf(c), sess.ID, req.Current, req.Password); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// handleTokens lists API tokens for owners, by name and last use.
func (s *Server) handleTokens(c echo.Context) error {
	tokens, err := s.svc.TokenList(c.Request().Context(), actorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": tokens})
}

type tokenRequest struct {
	Name string          `json:"name"`
	Role moderation.Role `json:"role"`
	Site string          `json:"site"`
}

type createdToken struct {
	Token string `json:"token"` // the secret, shown only in this answer
	moderation.TokenInfo
}

// handleCreateToken lets an owner create an API token.
func (s *Server) handleCreateToken(c echo.Context) error {
	var req tokenRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = moderation.RoleModerator
	}
	if req.Role != moderation.RoleOwner && req.Site == "" {
		req.Site = moderation.DefaultSite
	}
	secret, info, err := s.svc.CreateTokenAs(c.Request().Context(), actorOf(c), req.Name, req.Role, req.Site)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, createdToken{Token: secret, TokenInfo: info})
}

// handleRevokeToken lets an owner revoke an API token.
func (s *Server) handleRevokeToken(c echo.Context) error {
	if err := s.svc.RevokeTokenAs(c.Request().Context(), actorOf(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// pathParam returns a path parameter as typed: Echo matches escaped paths
// (a name with a space or slash) on the raw path and leaves them escaped.
func pathParam(c echo.Context, name string) string {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

type spamByScoreRequest struct {
	MinScore float64 `json:"min_score"`
	Post     string  `json:"post"`
}

// handleSpamByScore marks every pending comment scored at least min_score as
// spam in one action; the answer's ids undo it with one bulk restore.
func (s *Server) handleSpamByScore(c echo.Context) error {
	var req spamByScoreRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	site, err := s.adminSite(c)
	if err != nil {
		return err
	}
	res, err := s.svc.SpamByScore(c.Request().Context(), actorOf(c), site, req.Post, req.MinScore)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// scoreParam reads a classifier score (0 to 1) from the query; absent is 0.
func scoreParam(c echo.Context, name string) (float64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
		return 0, &moderation.ValidationError{Fields: map[string]string{name: "must be a number from 0 to 1"}}
	}
	return f, nil
}
