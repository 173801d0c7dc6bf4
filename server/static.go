package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"parley/embed"
)

// asset is one embedded file, with its gzip and checksum ETag computed once.
type asset struct {
	body, gzipped []byte
	etag, ctype   string
}

type assets struct {
	files map[string]*asset
}

func loadAssets() (*assets, error) {
	a := &assets{files: map[string]*asset{}}
	err := fs.WalkDir(embed.Files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(embed.Files, name)
		if err != nil {
			return err
		}
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = w.Write(body)
		if err := w.Close(); err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(name))
		if strings.HasPrefix(ctype, "text/") && !strings.Contains(ctype, "charset") {
			ctype += "; charset=utf-8"
		}
		a.files[name] = &asset{body: body, gzipped: gz.Bytes(), etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: ctype}
		return nil
	})
	return a, err
}

// pageCSP lets Parley's own pages load only Parley's own scripts and styles.
const pageCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// handler serves one embedded file. Blogs load embed.js by a fixed URL, so it
// is cached briefly and revalidated by ETag rather than cached forever.
func (a *assets) handler(name string) echo.HandlerFunc {
	f := a.files[name]
	return func(c echo.Context) error {
		if f == nil {
			return echo.ErrNotFound
		}
		h := c.Response().Header()
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "public, max-age=300")
		h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
		if strings.HasPrefix(f.ctype, "text/html") {
			h.Set("Content-Security-Policy", pageCSP)
		}
		if etagMatches(c.Request().Header.Get("If-None-Match"), f.etag) {
			return c.NoContent(http.StatusNotModified)
		}
		if strings.Contains(c.Request().Header.Get(echo.HeaderAcceptEncoding), "gzip") {
			h.Set(echo.HeaderContentEncoding, "gzip")
			return c.Blob(http.StatusOK, f.ctype, f.gzipped)
		}
		return c.Blob(http.StatusOK, f.ctype, f.body)
	}
}
