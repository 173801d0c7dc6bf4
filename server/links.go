package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

// The pages behind the links in Parley's emails. Each GET only looks; each
// POST acts, and only the page's own button sends one.

var actionWords = map[moderation.Action]struct{ title, button, class, done string }{
	moderation.ActionApprove: {"Approve this comment?", "Approve and publish", "approve", "Approved: the comment is published."},
	moderation.ActionReject:  {"Reject this comment?", "Reject", "reject", "Rejected: the comment will not be published."},
}

// handleModerationPage shows the comment and what the link would do.
func (s *Server) handleModerationPage(c echo.Context) error {
	req, err := s.svc.OpenModerationLink(c.Request().Context(), c.Param("token"))
	if err != nil {
		return s.renderFailure(c, err, true)
	}
	w := actionWords[req.Action]
	return s.renderPage(c, http.StatusOK, linkPage{Title: w.title, Comment: req.Comment, Button: w.button, ButtonClass: w.class,
		Message: "Nothing has changed yet. The button below acts as " + req.Moderator + ", once."})
}

// handleModerationLink does what the link asks, once.
func (s *Server) handleModerationLink(c echo.Context) error {
	req, err := s.svc.UseModerationLink(c.Request().Context(), c.Param("token"), s.svc.HashIP(c.RealIP()))
	if err != nil {
		return s.renderFailure(c, err, true)
	}
	return s.renderPage(c, http.StatusOK, linkPage{Title: actionWords[req.Action].done, Comment: req.Comment,
		Link: s.cfg.PublicURL + "/admin", LinkText: "See every comment waiting"})
}

// handleVerifyPage asks the owner of an address to confirm it.
func (s *Server) handleVerifyPage(c echo.Context) error {
	email, err := s.svc.OpenVerification(c.Param("token"))
	if err != nil {
		return s.renderFailure(c, err, false)
	}
	return s.renderPage(c, http.StatusOK, linkPage{Title: "Verify your email address", Button: "Verify " + email,
		Message: "Press the button to confirm that " + email + " is yours."})
}

// handleVerify marks the address verified.
func (s *Server) handleVerify(c echo.Context) error {
	email, err := s.svc.ConfirmVerification(c.Request().Context(), c.Param("token"))
	if err != nil {
		return s.renderFailure(c, err, false)
	}
	return s.renderPage(c, http.StatusOK, linkPage{Title: "Your address is verified",
		Message: "Thank you: " + email + " is verified. You can close this page."})
}

// handleUnsubscribePage offers to stop every email to an address.
func (s *Server) handleUnsubscribePage(c echo.Context) error {
	email, err := s.svc.OpenUnsubscribe(c.Param("token"))
	if err != nil {
		return s.renderFailure(c, err, false)
	}
	return s.renderPage(c, http.StatusOK, linkPage{Title: "Stop emails from these comments?", Button: "Unsubscribe",
		Message: "Press the button and " + email + " gets no more email about comments here."})
}

// handleUnsubscribe stops the emails. Mail programs that offer one-click
// unsubscribing (RFC 8058) POST here straight from the List-Unsubscribe
// header, with the body "List-Unsubscribe=One-Click".
func (s *Server) handleUnsubscribe(c echo.Context) error {
	email, err := s.svc.Unsubscribe(c.Request().Context(), c.Param("token"))
	if err != nil {
		return s.renderFailure(c, err, false)
	}
	return s.renderPage(c, http.StatusOK, linkPage{Title: "You are unsubscribed",
		Message: email + " will get no more email about comments here."})
}
