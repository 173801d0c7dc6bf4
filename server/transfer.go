package server

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"parley/migrate"
	"parley/moderation"
)

// MaxImportBytes is the largest file POST /api/admin/import takes unless
// Config.ImportLimit says otherwise. The import streams, so the limit guards
// the disk, not memory; larger files go through "parley import", which has
// none.
const MaxImportBytes = 256 << 20

func (s *Server) importLimit() int64 {
	if s.cfg.ImportLimit > 0 {
		return s.cfg.ImportLimit
	}
	return MaxImportBytes
}

// transferTimeout replaces the server's read and write timeouts for export,
// import and backup, which move whole databases over slow links.
const transferTimeout = time.Hour

// handleExport streams every comment the filters select, in the asked
// format, from one read transaction. Filters are checked before the first
// byte, so mistakes get a JSON error; a failure after it cuts the connection
// so that a broken file never looks complete.
func (s *Server) handleExport(c echo.Context) error {
	format, err := migrate.ParseExport(c.QueryParam("format"))
	if err != nil {
		return err
	}
	q := moderation.ExportQuery{Status: moderation.Status(c.QueryParam("status")), Post: c.QueryParam("post"), ByPost: format.GroupsByPost()}
	if since := c.QueryParam("since"); since != "" {
		if q.Since, err = migrate.ParseSince(since); err != nil {
			return err
		}
	}
	// site_url makes WXR links absolute; it was named site before sites
	// existed, and an address there still means it.
	siteURL := c.QueryParam("site_url")
	if legacy := c.QueryParam("site"); !moderation.ValidSiteID(legacy) && strings.Contains(legacy, ":") {
		siteURL = legacy
		c.QueryParams().Del("site")
	}
	if u, err := url.Parse(siteURL); siteURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return &moderation.ValidationError{Fields: map[string]string{"site_url": "must be the blog's absolute address, like https://blog.example.com"}}
	}
	if q.Site, err = s.adminSite(c); err != nil {
		return err
	}
	walk, err := s.svc.Export(c.Request().Context(), actorOf(c), q)
	if err != nil {
		return err
	}
	if origins, _ := s.svc.SiteOrigins(c.Request().Context(), q.Site); siteURL == "" && len(origins) > 0 {
		siteURL = origins[0]
	}
	now := s.svc.Now()
	s.extendDeadlines(c)
	s.attachment(c, format.ContentType(), "parley-comments", now, format.Extension())
	c.Response().WriteHeader(http.StatusOK)
	if err := migrate.Export(c.Response(), format, migrate.EncodeOptions{Exported: now, SiteURL: siteURL}, walk); err != nil {
		s.abort(c, "export", err)
	}
	return nil
}

// handleImport reads an uploaded file (the request body, or the "file" part
// of a form) and imports it. The answer counts what was created, skipped
// and invalid, and says why each invalid record was refused.
func (s *Server) handleImport(c echo.Context) error {
	format, err := migrate.ParseImport(c.QueryParam("format"))
	if err != nil {
		return err
	}
	postKey, err := migrate.ParsePostKey(c.QueryParam("post_key"))
	if err != nil {
		return err
	}
	r := c.Request()
	limit := s.importLimit()
	if r.ContentLength > limit {
		return tooLarge(limit, 0)
	}
	s.extendDeadlines(c)
	watched := watchBody(r)
	body, err := uploadedFile(r, limit)
	if err != nil {
		return cmp.Or(watched.failure(), err)
	}
	dec, err := migrate.NewDecoder(format, body, migrate.DecodeOptions{PostKey: postKey})
	if err != nil {
		return cmp.Or(watched.failure(), err)
	}
	site, err := s.adminSite(c)
	if err != nil {
		return err
	}
	res, err := s.svc.Import(r.Context(), actorOf(c), site, string(format), dec, nil)
	if f := watched.failure(); f != nil {
		return f
	}
	if err != nil {
		return importError(err, limit, res)
	}
	return c.JSON(http.StatusOK, res)
}

// uploadedFile returns the file in the body: the body itself, or the part
// named "file" of a multipart form (what an HTML file input sends).
func uploadedFile(r *http.Request, limit int64) (io.Reader, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, limit)
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if mediaType != echo.MIMEMultipartForm {
		return r.Body, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("The form could not be read.")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, &moderation.ValidationError{Fields: map[string]string{"file": "is required"}}
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit, 0)
		}
		if err != nil {
			return nil, badRequest("The form could not be read.")
		}
		if part.FormName() == "file" {
			return part, nil
		}
	}
}

// importError explains an import that stopped before the end of the file;
// what it stored before stays, and a second import skips it.
func importError(err error, limit int64, res moderation.ImportResult) error {
	var mbe *http.MaxBytesError
	var fe *migrate.FileError
	var none *migrate.NoCommentsError
	switch {
	case errors.As(err, &mbe):
		return tooLarge(limit, res.Created)
	case errors.As(err, &none):
		return moderation.Errorf(moderation.CodeUnreadable, fmt.Sprintf(
			"The file holds no comments to import: %s. Nothing was imported.", none.Reason))
	case errors.As(err, &fe):
		before := "Nothing was imported."
		if res.Created > 0 {
			before = fmt.Sprintf("The %d comments before that point were imported.", res.Created)
		}
		return moderation.Errorf(moderation.CodeUnreadable, fmt.Sprintf("The import stopped: %v. %s %s", fe, before, fe.Advice()))
	}
	return err
}

func tooLarge(limit int64, created int) error {
	return moderation.Errorf(moderation.CodeTooLarge, fmt.Sprintf(
		"The file is larger than the import limit of %s: split it, or import it on the server with \"parley import\", which has no limit. %s",
		size(limit), kept(created)))
}

func size(bytes int64) string {
	if bytes >= 1<<20 && bytes%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", bytes>>20)
	}
	return fmt.Sprintf("%d bytes", bytes)
}

func kept(created int) string {
	if created == 0 {
		return "Nothing was imported."
	}
	return fmt.Sprintf("The %d comments before that point were imported; importing the whole file again skips them.", created)
}

// handleBackup streams a consistent copy of the database; only owners may,
// since it holds every secret. On bbolt it is the file: restore it by
// stopping Parley and putting it in place of the database. On PostgreSQL it
// is a dump file: restore it with parley copy --from FILE --to URL.
func (s *Server) handleBackup(c echo.Context) error {
	now := s.svc.Now()
	s.extendDeadlines(c)
	started := false
	_, err := s.svc.Backup(c.Request().Context(), actorOf(c), c.Response(), func(size int64) {
		started = true
		ext := "db"
		if size < 0 { // PostgreSQL's dump file: JSON lines, not measured before it is written
			ext = "jsonl"
		}
		s.attachment(c, "application/octet-stream", "parley-backup", now, ext)
		if size >= 0 {
			c.Response().Header().Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
		}
		c.Response().WriteHeader(http.StatusOK)
	})
	if err != nil && !started {
		return err
	}
	if err != nil {
		s.abort(c, "backup", err)
	}
	return nil
}

// attachment sets the headers of a file download.
func (s *Server) attachment(c echo.Context, contentType, name string, now time.Time, ext string) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, contentType)
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-%s.%s"`, name, now.UTC().Format("20060102-150405"), ext))
	h.Set("Cache-Control", "no-store")
}

func (s *Server) extendDeadlines(c echo.Context) {
	rc := http.NewResponseController(c.Response())
	_ = rc.SetReadDeadline(time.Now().Add(transferTimeout))
	_ = rc.SetWriteDeadline(time.Now().Add(transferTimeout))
}

// abort ends a download that failed after its first byte: the connection is
// cut instead of ending the body cleanly, so the client sees it incomplete.
func (s *Server) abort(c echo.Context, what string, err error) {
	s.log.Error(what+" failed after it started", slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		slog.Any("error", err))
	panic(http.ErrAbortHandler)
}
