package migrate

import (
	"fmt"
	"io"
	"time"

	"parley/moderation"
)

// Format names a file format.
type Format string

// The formats Parley exports and imports.
const (
	NDJSON Format = "ndjson" // Parley's own: one JSON comment per line (export, import)
	JSON   Format = "json"   // Parley's own: one JSON document (export, import)
	CSV    Format = "csv"    // a spreadsheet (export only)
	WXR    Format = "wxr"    // WordPress eXtended RSS (export, import)
	Disqus Format = "disqus" // Disqus XML export (import only)
)

// SchemaVersion is the version of Parley's comment schema that the ndjson,
// json and CSV exports follow. A reader refuses a file of a newer version.
const SchemaVersion = 1

// schemaName marks a Parley export's header.
const schemaName = "parley-comments"

// ExportFormats and ImportFormats list what each direction accepts.
var (
	ExportFormats = []Format{NDJSON, JSON, CSV, WXR}
	ImportFormats = []Format{NDJSON, JSON, WXR, Disqus}
)

// ContentType is the media type a file of format f is served as.
func (f Format) ContentType() string {
	switch f {
	case NDJSON:
		return "application/x-ndjson; charset=utf-8"
	case JSON:
		return "application/json; charset=utf-8"
	case CSV:
		return "text/csv; charset=utf-8"
	}
	return "application/xml; charset=utf-8"
}

// Extension is the file name extension for format f.
func (f Format) Extension() string {
	if f == WXR || f == Disqus {
		return "xml"
	}
	return string(f)
}

// GroupsByPost reports whether f needs a post's comments together: WXR nests
// comments inside their post, and importers link replies within one post.
func (f Format) GroupsByPost() bool { return f == WXR }

func parse(s string, allowed []Format, field string) (Format, error) {
	for _, f := range allowed {
		if string(f) == s {
			return f, nil
		}
	}
	names := ""
	for i, f := range allowed {
		if i > 0 {
			names += ", "
		}
		names += string(f)
	}
	return "", &moderation.ValidationError{Fields: map[string]string{field: "must be one of " + names}}
}

// ParseExport reads an export format name, "" meaning ndjson.
func ParseExport(s string) (Format, error) {
	if s == "" {
		return NDJSON, nil
	}
	return parse(s, ExportFormats, "format")
}

// ParseImport reads an import format name; it is required, since a file's
// content should not be guessed.
func ParseImport(s string) (Format, error) { return parse(s, ImportFormats, "format") }

// Encoder writes comments in one format.
type Encoder interface {
	// Encode writes one comment.
	Encode(c *moderation.Comment) error
	// Close writes what ends the file and flushes; the writer stays open.
	Close() error
}

// rawEncoder is an encoder whose format is the comments' own JSON: it
// takes stored comments as they are (moderation.ExportWalk.JSON).
type rawEncoder interface {
	encodeJSON(raw []byte) error
}

// Export writes the comments of walk to w in format f: the header, every
// comment, the end. JSON formats take the stored JSON as it is, which keeps
// a million-comment export to seconds.
func Export(w io.Writer, f Format, opts EncodeOptions, walk *moderation.ExportWalk) error {
	enc, err := NewEncoder(f, w, opts)
	if err != nil {
		return err
	}
	if raw, ok := enc.(rawEncoder); ok {
		err = walk.JSON(raw.encodeJSON)
	} else {
		err = walk.Comments(enc.Encode)
	}
	if err != nil {
		return err
	}
	return enc.Close()
}

// EncodeOptions describe the export as a whole.
type EncodeOptions struct {
	Exported time.Time // when the snapshot was taken, written in the header
	SiteURL  string    // the blog's address, to make WXR links absolute; optional
}

// NewEncoder returns an encoder of format f writing to w. It writes the
// header at once.
func NewEncoder(f Format, w io.Writer, opts EncodeOptions) (Encoder, error) {
	switch f {
	case NDJSON:
		return newNDJSONEncoder(w, opts)
	case JSON:
		return newJSONEncoder(w, opts)
	case CSV:
		return newCSVEncoder(w)
	case WXR:
		return newWXREncoder(w, opts)
	}
	return nil, fmt.Errorf("no encoder for %q", f)
}

// PostKey says how an imported comment's post key is made from what the
// other system knew of the page.
type PostKey string

// The ways to make post keys. Path suits blogs that embed Parley without
// data-post (the widget then uses the page's path).
const (
	PostKeyPath PostKey = "path" // the path of the page's URL: /2024/03/hello/
	PostKeyURL  PostKey = "url"  // the page's whole URL
	PostKeyID   PostKey = "id"   // the system's id of the page (WordPress post ID, Disqus identifier)
)

// ParsePostKey reads a post key mode, "" meaning path.
func ParsePostKey(s string) (PostKey, error) {
	switch PostKey(s) {
	case "":
		return PostKeyPath, nil
	case PostKeyPath, PostKeyURL, PostKeyID:
		return PostKey(s), nil
	}
	return "", &moderation.ValidationError{Fields: map[string]string{"post_key": "must be path, url or id"}}
}

// DecodeOptions say how to read a file from another system.
type DecodeOptions struct {
	PostKey PostKey
}

// NewDecoder returns a reader of the records in r, a file of format f.
func NewDecoder(f Format, r io.Reader, opts DecodeOptions) (moderation.RecordReader, error) {
	if opts.PostKey == "" {
		opts.PostKey = PostKeyPath
	}
	switch f {
	case NDJSON:
		return newNDJSONDecoder(r), nil
	case JSON:
		return newJSONDecoder(r), nil
	case WXR:
		return newWXRDecoder(r, opts), nil
	case Disqus:
		return newDisqusDecoder(r, opts), nil
	}
	return nil, fmt.Errorf("no decoder for %q", f)
}

// FileError is a file that cannot be read past a point: broken XML or JSON,
// or a schema this Parley does not know. Records before it were read.
type FileError struct {
	Line int // 0 when unknown
	Err  error
	// CutShort is set when the file ends in the middle of the document: an
	// interrupted download or upload. The whole file can get further.
	CutShort bool
}

// Advice says whether importing again can get further, and how.
func (e *FileError) Advice() string {
	if e.CutShort {
		return "It was cut short (an interrupted download or upload?): import the complete file; what was imported is skipped, and the import goes on from there."
	}
	return "Importing the same file again stops at the same place: repair the file there (or remove what is broken) and import it again; what was imported is skipped."
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

func (e *FileError) Unwrap() error { return e.Err }

// NoCommentsError is a file that was read to its end without yielding a
// single comment: the wrong format, or a file of posts without comments.
// It is an error so that such an import never looks like a success.
type NoCommentsError struct {
	Reason string // why, in words: what the file held instead
}

func (e *NoCommentsError) Error() string { return "the file holds no comments: " + e.Reason }

// errNewer is a Parley export of a schema this Parley does not know.
var errNewer = fmt.Errorf("the file was written by a newer Parley (schema version above %d): upgrade Parley to import it", SchemaVersion)

// ParseSince reads the since filter: a date (2026-11-28, midnight UTC) or an
// RFC 3339 time.
func ParseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, &moderation.ValidationError{Fields: map[string]string{
		"since": "must be a date like 2026-11-28 or a time like 2026-11-28T10:00:00Z"}}
}
