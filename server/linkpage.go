package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

//go:embed pages/page.html
var pageFiles embed.FS

// linkPageStyle is the pages' only style, allowed by its hash in the CSP.
// It follows the reader's colour scheme, as the widget and /p do.
const linkPageStyle = `:root{color-scheme:light dark}
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#1d1d1b}
main{max-width:40rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin-top:0}article{border-left:4px solid #ccc;padding:.25rem 1rem;margin:1.5rem 0}
.meta{color:#555;font-size:.9rem}button{font:inherit;padding:.6rem 1.4rem;border:0;border-radius:6px;color:#fff;background:#245;cursor:pointer}
button.approve{background:#17663a}button.reject{background:#a32020}button:focus-visible{outline:3px solid #e6a700;outline-offset:2px}
a{color:#245}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}main{background:#161b22;box-shadow:0 0 0 1px #3d444d}
article{border-color:#57606a}.meta{color:#a3adb8}a{color:#6cb6ff}button{background:#2f5d8a}}`

var (
	pageTemplate = template.Must(template.New("page.html").Funcs(template.FuncMap{
		"html": func(s string) template.HTML { return template.HTML(s) }, // the stored, sanitized HTML that readers get
	}).ParseFS(pageFiles, "pages/page.html"))
	linkPageCSP = func() string {
		sum := sha256.Sum256([]byte(linkPageStyle))
		return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	}()
)

// linkPage is what one confirmation or result page shows.
type linkPage struct {
	Title, Message      string
	Comment             *moderation.Comment
	Button, ButtonClass string // a button that POSTs to the page's own URL
	Link, LinkText      string
	Style               template.CSS
}

// pageHeaders keeps link pages private: not cached, not indexed, not framed,
// and the token in their URL never sent on as a referrer.
func pageHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", linkPageCSP)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Robots-Tag", "noindex, nofollow")
		return next(c)
	}
}

func (s *Server) renderPage(c echo.Context, status int, p linkPage) error {
	p.Style = template.CSS(linkPageStyle)
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		return err
	}
	return c.HTMLBlob(status, b.Bytes())
}

// renderFailure shows why a link did not work, with a way on to the admin
// page for moderators. Unexpected errors are logged and shown as a generic
// failure.
func (s *Server) renderFailure(c echo.Context, err error, forModerators bool) error {
	const title = "This link cannot be used"
	var de *moderation.Error
	if !errors.As(err, &de) {
		s.log.Error("link failed", slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("route", c.Path()), slog.Any("error", err))
		return s.renderPage(c, http.StatusInternalServerError, linkPage{Title: title,
			Message: "Something went wrong on our side; please try again in a moment."})
	}
	p := linkPage{Title: title, Message: de.Message}
	if forModerators {
		p.Link, p.LinkText = s.cfg.PublicURL+"/admin", "Open the admin page"
	}
	return s.renderPage(c, statusOf[de.Code], p)
}
