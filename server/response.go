package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// response is one encoded public answer, immutable once built. Its header
// values are built with it, once: see the header values in middleware.go.
type response struct {
	body     []byte
	gzipped  []byte   // nil when gzip would not pay (small bodies)
	etag     []string // of body; the gzipped bytes carry etag with a -gz suffix
	gzipETag []string
	// the Content-Length of each encoding
	bodyLen, gzipLen []string
}

// minGzip is the smallest body worth compressing: below it the gzip header
// and a round of decompression cost more than the bytes saved.
const minGzip = 1024

func newResponse(body []byte) (*response, error) {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:12])
	r := &response{body: body, etag: []string{`"` + tag + `"`}, bodyLen: []string{strconv.Itoa(len(body))}}
	if len(body) >= minGzip {
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
		_, _ = w.Write(body)
		if err := w.Close(); err != nil {
			return nil, err
		}
		r.gzipped, r.gzipETag, r.gzipLen = gz.Bytes(), []string{`"` + tag + `-gz"`}, []string{strconv.Itoa(gz.Len())}
	}
	return r, nil
}

func buildResponse(build builder) (*response, bool, error) {
	body, known, err := build()
	if err != nil {
		return nil, false, err
	}
	r, err := newResponse(body)
	return r, known, err
}

// publicCacheControl lets CDNs and other shared caches reuse a public answer
// for a few seconds, so a burst of readers of one page costs the server one
// request every few seconds. Browsers keep it too but revalidate it each
// time with its ETag (a 304 costs a few bytes): a moderator who approves a
// comment and opens the post sees it at once, and so does its author.
const publicCacheControl = "public, max-age=0, s-maxage=10"

// serveResponse writes r, gzipped when the client takes gzip, answering
// 304 when the client already holds either encoding.
//
// The answer carries its Content-Length: without it net/http sends any body
// over 2 KB chunked, which costs a write of its own for the last chunk.
func serveResponse(c echo.Context, r *response) error {
	h := c.Response().Header()
	body, etag, length := r.body, r.etag, r.bodyLen
	if r.gzipped != nil {
		addVaryEncoding(h)
		if acceptsGzip(c.Request().Header.Get(echo.HeaderAcceptEncoding)) {
			body, etag, length = r.gzipped, r.gzipETag, r.gzipLen
			h[echo.HeaderContentEncoding] = contentEncodingGz
		}
	}
	h["Etag"] = etag
	h["Cache-Control"] = publicCache
	if match := c.Request().Header.Get("If-None-Match"); match != "" &&
		(etagMatches(match, r.etag[0]) || r.gzipped != nil && etagMatches(match, r.gzipETag[0])) {
		h.Del(echo.HeaderContentEncoding)
		return c.NoContent(http.StatusNotModified)
	}
	h[echo.HeaderContentType] = contentTypeJSON
	h[echo.HeaderContentLength] = length
	c.Response().WriteHeader(http.StatusOK)
	_, err := c.Response().Write(body)
	return err
}

// addVaryEncoding adds Accept-Encoding to the Vary of h with the values
// built once for the usual cases (nothing yet, or the Origin the CORS
// middleware adds), instead of growing a slice per answer.
func addVaryEncoding(h http.Header) {
	switch v := h[echo.HeaderVary]; {
	case len(v) == 0:
		h[echo.HeaderVary] = varyEncoding
	case len(v) == 1 && v[0] == echo.HeaderOrigin:
		h[echo.HeaderVary] = varyOriginEncoding
	default:
		h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	}
}

// acceptsGzip reads an Accept-Encoding header: gzip (or *) listed without
// q=0.
func acceptsGzip(header string) bool {
	for len(header) > 0 {
		var part string
		part, header, _ = strings.Cut(header, ",")
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		if !strings.EqualFold(name, "gzip") && name != "*" {
			continue
		}
		q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
		return err == nil && v > 0
	}
	return false
}
