package migrate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"parley/moderation"
)

// header opens Parley's ndjson and json exports.
type header struct {
	Format   string    `json:"format"`
	Version  int       `json:"version"`
	Exported time.Time `json:"exported"`
}

func newHeader(opts EncodeOptions) header {
	return header{Format: schemaName, Version: SchemaVersion, Exported: opts.Exported.UTC()}
}

// jsonLines writes comments as JSON, one per line, exactly as json.Marshal
// writes them and as storage keeps them, so that stored comments can pass
// through unchanged (encodeJSON).
type jsonLines struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func newJSONLines(w io.Writer) jsonLines {
	bw := bufio.NewWriterSize(w, 64<<10)
	return jsonLines{w: bw, enc: json.NewEncoder(bw)}
}

// ndjsonEncoder writes the header line, then one comment per line.
type ndjsonEncoder struct{ jsonLines }

func newNDJSONEncoder(w io.Writer, opts EncodeOptions) (*ndjsonEncoder, error) {
	e := &ndjsonEncoder{newJSONLines(w)}
	return e, e.enc.Encode(newHeader(opts))
}

func (e *ndjsonEncoder) Encode(c *moderation.Comment) error { return e.enc.Encode(c) }
func (e *ndjsonEncoder) Close() error                       { return e.w.Flush() }

func (e *ndjsonEncoder) encodeJSON(raw []byte) error {
	if _, err := e.w.Write(raw); err != nil {
		return err
	}
	return e.w.WriteByte('\n')
}

// jsonEncoder writes one document: the header's fields, then "comments", an
// array with one comment per line.
type jsonEncoder struct {
	jsonLines
	n int
}

func newJSONEncoder(w io.Writer, opts EncodeOptions) (*jsonEncoder, error) {
	e := &jsonEncoder{jsonLines: newJSONLines(w)}
	h, err := json.Marshal(newHeader(opts))
	if err != nil {
		return nil, err
	}
	_, err = e.w.Write(append(h[:len(h)-1], `,"comments":[`...))
	return e, err
}

func (e *jsonEncoder) Encode(c *moderation.Comment) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return e.encodeJSON(b)
}

func (e *jsonEncoder) encodeJSON(raw []byte) error {
	sep := ",\n"
	if e.n == 0 {
		sep = "\n"
	}
	e.n++
	if _, err := e.w.WriteString(sep); err != nil {
		return err
	}
	_, err := e.w.Write(raw)
	return err
}

func (e *jsonEncoder) Close() error {
	if _, err := e.w.WriteString("\n]}\n"); err != nil {
		return err
	}
	return e.w.Flush()
}

// marshal is json.Marshal without HTML escaping and the trailing newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// maxLine is the longest ndjson line read: a comment at the limits (10,000
// characters of body, its HTML, history) is far smaller.
const maxLine = 4 << 20

// ndjsonDecoder reads a header line (optional) and one comment per line.
type ndjsonDecoder struct {
	r       *bufio.Reader
	line, n int
	header  bool // the file began with an export header
}

func newNDJSONDecoder(r io.Reader) *ndjsonDecoder {
	return &ndjsonDecoder{r: bufio.NewReaderSize(r, 64<<10)}
}

func (d *ndjsonDecoder) Next() (*moderation.ImportRecord, error) {
	for {
		raw, tooLong, err := d.readLine()
		if errors.Is(err, io.EOF) {
			return nil, d.end()
		}
		if err != nil {
			return nil, err
		}
		d.line++
		if d.line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")) // a byte order mark
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 && !tooLong {
			continue
		}
		if d.line == 1 && !tooLong {
			if isHeader, err := readHeader(raw); isHeader || err != nil {
				if err != nil {
					return nil, &FileError{Line: d.line, Err: err}
				}
				d.header = true
				continue
			}
		}
		d.n++
		rec := &moderation.ImportRecord{Number: d.n, Line: d.line}
		if tooLong {
			rec.Problem = fmt.Sprintf("the line is longer than %d MiB", maxLine>>20)
			return rec, nil
		}
		rec.Comment, rec.Problem = decodeComment(raw)
		return rec, nil
	}
}

// end reports io.EOF, or why a file yielded no comment. A Parley export of
// no comments says so in its header, and imports as nothing.
func (d *ndjsonDecoder) end() error {
	switch {
	case d.n > 0 || d.header:
		return io.EOF
	case d.line == 0:
		return &NoCommentsError{Reason: "it is empty"}
	}
	return &NoCommentsError{Reason: "it has only blank lines"}
}

// readLine returns the next line without its end, or only whether it was
// too long (the rest of it is skipped). io.EOF after the last line.
func (d *ndjsonDecoder) readLine() (line []byte, tooLong bool, err error) {
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(line)+len(chunk) > maxLine {
			tooLong, line = true, nil
		} else if !tooLong {
			line = append(line, chunk...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && (len(line) > 0 || tooLong):
			return line, tooLong, nil
		case err != nil:
			return nil, false, err
		}
		return line, tooLong, nil
	}
}

// readHeader reports whether raw is an export header, and refuses one of a
// newer schema.
func readHeader(raw []byte) (bool, error) {
	var h header
	if json.Unmarshal(raw, &h) != nil || h.Format != schemaName {
		return false, nil
	}
	if h.Version > SchemaVersion {
		return true, errNewer
	}
	return true, nil
}

// decodeComment reads one comment, or says why it cannot.
func decodeComment(raw []byte) (*moderation.Comment, string) {
	if !utf8.Valid(raw) {
		return nil, "is not valid UTF-8"
	}
	var c moderation.Comment
	if err := json.Unmarshal(raw, &c); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, "is not valid JSON: " + err.Error()
		}
		return nil, "is not a comment: " + err.Error()
	}
	return &c, ""
}
