package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

type verifyRequest struct {
	Email string `json:"email"`
}

// handleRequestVerification mails a verification link. The answer is the
// same whether or not a mail goes out, so it tells nothing about addresses.
func (s *Server) handleRequestVerification(c echo.Context) error {
	var req verifyRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if err := s.svc.RequestVerification(c.Request().Context(), req.Email); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{
		"message": "If that address can receive email, a link to verify it is on its way.",
	})
}

// handleGetNotifyPrefs answers how the signed-in moderator hears of comments.
func (s *Server) handleGetNotifyPrefs(c echo.Context) error {
	p, err := s.svc.NotifyPrefs(c.Request().Context(), actorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// handleSetNotifyPrefs changes how the signed-in moderator hears of comments.
func (s *Server) handleSetNotifyPrefs(c echo.Context) error {
	var p moderation.NotifyPrefs
	if err := bindJSON(c, &p); err != nil {
		return err
	}
	actor := actorOf(c)
	p, err := s.svc.SetNotifyPrefs(c.Request().Context(), actor, actor.Name, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}
