package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

// The admin page's session cookie. Over HTTPS it takes the __Host- prefix,
// which browsers accept only with Secure, Path=/ and no Domain: no other
// host or plain-HTTP page can plant or overwrite it.
const (
	cookieName       = "parley_session"
	secureCookieName = "__Host-parley_session"

	// The device cookie marks a browser that signed in before, so that
	// strangers failing under the same name never make it wait. It outlives
	// sessions and says nothing by itself: the server checks its signature.
	deviceCookieName       = "parley_device"
	secureDeviceCookieName = "__Host-parley_device"

	// csrfHeader carries the session's CSRF token on every state-changing
	// request from the page; plain HTML forms send it as the field csrfField.
	csrfHeader = "X-CSRF-Token"
	csrfField  = "csrf"

	// pollHeader marks the page's background polling, which does not count
	// as use for the session's idle expiry.
	pollHeader = "X-Parley-Poll"

	sessionKey = "parley.session"
)

var (
	errCrossSite = moderation.Errorf(moderation.CodeForbidden, "Requests from other sites are refused here.")
	errCSRF      = moderation.Errorf(moderation.CodeForbidden, "This request lacks the page's security token. Reload the admin page and try again.")
)

// sessionCookie is how the server names and flags its cookie, set once from
// the public URL.
type sessionCookie struct {
	name, device string
	secure       bool
	self         string // the public URL's origin, the only one the page posts from
}

func newSessionCookie(pub *url.URL) sessionCookie {
	if pub.Scheme == "https" {
		return sessionCookie{name: secureCookieName, device: secureDeviceCookieName, secure: true, self: origin(pub)}
	}
	return sessionCookie{name: cookieName, device: deviceCookieName, self: origin(pub)}
}

func (sc sessionCookie) make(value string, maxAge int) *http.Cookie {
	return sc.named(sc.name, value, maxAge)
}

func (sc sessionCookie) makeDevice(value string) *http.Cookie {
	return sc.named(sc.device, value, int(moderation.DeviceLifetime/time.Second))
}

func (sc sessionCookie) named(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: sc.secure, SameSite: http.SameSiteStrictMode}
}

// crossSite reports whether a browser sent r from a page of another origin.
// Fetch metadata says so directly; older browsers still send Origin on POST.
// Scripts send neither and use bearer tokens.
func (sc sessionCookie) crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	case "same-origin", "none":
		return false
	}
	o := r.Header.Get(echo.HeaderOrigin)
	return o != "" && o != sc.self
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// withSession authenticates the admin page by its cookie. A state-changing
// request must come from Parley's own origin and carry the session's CSRF
// token, else it is refused with 403 before anything changes. SameSite=Strict
// already keeps the cookie off cross-site requests; these checks hold even
// where a browser ignores that.
func (s *Server) withSession(c echo.Context, next echo.HandlerFunc) error {
	r := c.Request()
	unsafe := !safeMethod(r.Method)
	if unsafe && s.cookie.crossSite(r) {
		return errCrossSite
	}
	actor, sess, err := s.session(c)
	if err != nil {
		return err
	}
	if unsafe && !sess.CheckCSRF(csrfToken(c)) {
		return errCSRF
	}
	c.Set(actorKey, actor)
	c.Set(sessionKey, sess)
	return next(c)
}

// session returns the moderator behind the request's cookie.
func (s *Server) session(c echo.Context) (moderation.Actor, *moderation.Session, error) {
	cookie, err := c.Request().Cookie(s.cookie.name)
	if err != nil {
		return moderation.Actor{}, nil, moderation.ErrUnauthorized
	}
	touch := c.Request().Header.Get(pollHeader) == "" && c.Path() != eventsRoute
	actor, sess, err := s.sessions.Authenticate(c.Request().Context(), cookie.Value, touch)
	if err != nil {
		return moderation.Actor{}, nil, err
	}
	actor.From = s.svc.HashIP(c.RealIP())
	return actor, sess, nil
}

func csrfToken(c echo.Context) string {
	if t := c.Request().Header.Get(csrfHeader); t != "" {
		return t
	}
	if c.Request().Header.Get(echo.HeaderContentType) == echo.MIMEApplicationForm {
		return c.FormValue(csrfField)
	}
	return ""
}

func sessionOf(c echo.Context) *moderation.Session {
	sess, _ := c.Get(sessionKey).(*moderation.Session)
	return sess
}

// handleLoginPage shows the sign-in form, or the queue to who is signed in.
func (s *Server) handleLoginPage(c echo.Context) error {
	if _, _, err := s.session(c); err == nil {
		return c.Redirect(http.StatusSeeOther, "/admin")
	}
	return s.pages.render(c, http.StatusOK, "login", page{Title: "Sign in"})
}

// handleLogin checks a name and password from the sign-in form and sets the
// session cookie. Every failure re-renders the form with a message.
func (s *Server) handleLogin(c echo.Context) error {
	r := c.Request()
	name := c.FormValue("name")
	form := page{Title: "Sign in", Data: loginForm{Name: name}}
	if s.cookie.crossSite(r) {
		form.Error = errCrossSite.Message
		return s.pages.render(c, http.StatusForbidden, "login", form)
	}
	attempt := moderation.LoginAttempt{Name: name, Password: c.FormValue("password"),
		Client: moderation.Client{IP: c.RealIP(), UserAgent: r.UserAgent()}}
	if device, err := r.Cookie(s.cookie.device); err == nil {
		attempt.Device = device.Value
	}
	in, err := s.sessions.Login(r.Context(), attempt)
	var throttled *moderation.ThrottledError
	switch {
	case errors.As(err, &throttled):
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Round(time.Second)/time.Second)+1))
		form.Error = throttled.Error()
		return s.pages.render(c, http.StatusTooManyRequests, "login", form)
	case errors.Is(err, moderation.ErrUnauthorized):
		form.Error = "That name and password do not match. Please try again."
		return s.pages.render(c, http.StatusUnauthorized, "login", form)
	case err != nil:
		return err
	}
	c.SetCookie(s.cookie.make(in.Secret, int(moderation.SessionLifetime/time.Second)))
	c.SetCookie(s.cookie.makeDevice(in.Device))
	return c.Redirect(http.StatusSeeOther, "/admin")
}

type loginForm struct{ Name string }

// handleLogout ends the session (the route requires its CSRF token) and
// clears the cookie.
func (s *Server) handleLogout(c echo.Context) error {
	if err := s.sessions.Logout(c.Request().Context(), actorOf(c), sessionOf(c)); err != nil {
		return err
	}
	c.SetCookie(s.cookie.make("", -1))
	return c.Redirect(http.StatusSeeOther, "/admin/login")
}
