package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

// handleForm hands the widget a signed, single-use form token, with a proof
// of work puzzle when that defence is on. Without the anti-spam pipeline the
// contract lets it answer 404.
func (s *Server) handleForm(c echo.Context) error {
	if s.cfg.Spam == nil {
		return moderation.ErrNotFound
	}
	site, err := s.publicSite(c, c.QueryParam("site"))
	if err != nil {
		return err
	}
	form, err := s.cfg.Spam.Form(c.Request().Context(), site, c.QueryParam("post"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, form)
}

// handleBlocklist shows the blocklist to moderators.
func (s *Server) handleBlocklist(c echo.Context) error {
	if s.cfg.Spam == nil {
		return moderation.ErrNotFound
	}
	site, err := s.adminSite(c)
	if err != nil {
		return err
	}
	b, err := s.cfg.Spam.Blocklist(c.Request().Context(), actorOf(c), site)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

// handleSetBlocklist replaces the blocklist (owners only) and answers it as
// stored, cleaned and sorted.
func (s *Server) handleSetBlocklist(c echo.Context) error {
	if s.cfg.Spam == nil {
		return moderation.ErrNotFound
	}
	site, err := s.adminSite(c)
	if err != nil {
		return err
	}
	var b moderation.Blocklist
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	saved, err := s.cfg.Spam.SetBlocklist(c.Request().Context(), actorOf(c), site, b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, saved)
}

type forgetRequest struct {
	Email string `json:"email"`
}

type forgotten struct {
	Deleted int `json:"deleted"`
}

// handleForget erases every comment sent with an email address (owners only).
func (s *Server) handleForget(c echo.Context) error {
	var req forgetRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	n, err := s.svc.Forget(c.Request().Context(), actorOf(c), c.QueryParam("site"), req.Email)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, forgotten{Deleted: n})
}
