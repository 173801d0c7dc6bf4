package migrate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"parley/moderation"
)

// jsonDecoder reads Parley's json export as a stream: the header's fields,
// then the comments array one element at a time. A bare array of comments
// is read too.
//
// encoding/json's Decoder holds a whole value in memory, however long, so
// the document is walked by a scanner that knows only strings and brackets:
// it finds where each comment ends and keeps at most maxLine bytes of it.
// A longer comment is read to its end, dropped and reported invalid; a
// comment that is not valid JSON inside balanced brackets is reported
// invalid too, and the import goes on with the next.
type jsonDecoder struct {
	r       *bufio.Reader
	err     error // the reader's own error (a body limit, a closed connection)
	line    int
	started bool
	done    bool
	header  bool // the document is a Parley export
	n       int
}

func newJSONDecoder(r io.Reader) *jsonDecoder {
	d := &jsonDecoder{line: 1}
	d.r = bufio.NewReaderSize(readerFunc(func(p []byte) (int, error) {
		n, err := r.Read(p)
		if err != nil && !errors.Is(err, io.EOF) {
			d.err = err
		}
		return n, err
	}), 64<<10)
	return d
}

// readerFunc is a function that reads.
type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func (d *jsonDecoder) Next() (*moderation.ImportRecord, error) {
	if d.done {
		return nil, io.EOF
	}
	if !d.started {
		d.started = true
		if err := d.seekComments(); err != nil {
			return nil, err
		}
		if c, err := d.peek(); err != nil {
			return nil, err
		} else if c == ']' {
			return nil, d.end()
		}
	}
	line := d.line
	raw, long, err := d.value(maxLine)
	if err != nil {
		return nil, err
	}
	d.n++
	rec := &moderation.ImportRecord{Number: d.n, Line: line}
	if long {
		rec.Problem = fmt.Sprintf("is longer than %d MiB: it was cut while reading", maxLine>>20)
	} else {
		rec.Comment, rec.Problem = decodeComment(raw)
	}
	switch c, err := d.peek(); {
	case err != nil:
		return nil, err
	case c == ',':
		_, _ = d.r.Discard(1)
		if c, err := d.peek(); err == nil && c == ']' {
			d.done = true // a trailing comma: forgiven
		}
	case c == ']':
		d.done = true
	default:
		return nil, d.broken(fmt.Errorf("after comment %d, %q where a comma or ] should be", d.n, c))
	}
	return rec, nil
}

// end reports io.EOF, or why a document yielded no comment.
func (d *jsonDecoder) end() error {
	d.done = true
	if d.n == 0 && !d.header {
		return &NoCommentsError{Reason: "its array of comments is empty"}
	}
	return io.EOF
}

// seekComments reads up to the first element of the comments array,
// checking the schema version on the way.
func (d *jsonDecoder) seekComments() error {
	if bom, _ := d.r.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = d.r.Discard(3)
	}
	c, err := d.peek()
	if fe := (*FileError)(nil); errors.As(err, &fe) && fe.CutShort {
		return &NoCommentsError{Reason: "it is empty"}
	}
	if err != nil {
		return err
	}
	_, _ = d.r.Discard(1)
	switch c {
	case '[':
		return nil
	case '{':
	default:
		return d.broken(fmt.Errorf(`this is not a Parley json export: it starts with %q where {"format": "parley-comments", …, "comments": […]} or an array of comments should`, c))
	}
	for {
		switch c, err := d.peek(); {
		case err != nil:
			return err
		case c == '}':
			return d.broken(errors.New(`the file has no "comments" array`))
		case c != '"':
			return d.broken(fmt.Errorf("%q where a field name should be", c))
		}
		raw, long, err := d.value(1 << 10)
		if err != nil {
			return err
		}
		var key string
		if long || json.Unmarshal(raw, &key) != nil {
			return d.broken(errors.New("a field name of the header cannot be read"))
		}
		if c, err := d.peek(); err != nil {
			return err
		} else if c != ':' {
			return d.broken(fmt.Errorf("%q where a colon should be", c))
		}
		_, _ = d.r.Discard(1)
		if key == "comments" {
			if c, err := d.peek(); err != nil {
				return err
			} else if c != '[' {
				return d.broken(errors.New(`"comments" must be an array`))
			}
			_, _ = d.r.Discard(1)
			return nil
		}
		// Other fields are read and, but for these two, dropped.
		if raw, _, err = d.value(1 << 10); err != nil {
			return err
		}
		switch key {
		case "format":
			var f string
			d.header = json.Unmarshal(raw, &f) == nil && f == schemaName
		case "version":
			var v int
			if err := json.Unmarshal(raw, &v); err != nil {
				return d.broken(errors.New(`"version" must be a number`))
			}
			if v > SchemaVersion {
				return d.broken(errNewer)
			}
		}
		if c, err := d.peek(); err != nil {
			return err
		} else if c == ',' {
			_, _ = d.r.Discard(1)
		}
	}
}

// peek skips white space (and a leading byte order mark) and returns the
// next byte without reading it.
func (d *jsonDecoder) peek() (byte, error) {
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			return 0, d.readError(err)
		}
		switch c {
		case '\n':
			d.line++
		case ' ', '\t', '\r':
		default:
			_ = d.r.UnreadByte()
			return c, nil
		}
	}
}

// value reads one JSON value, keeping at most limit bytes of it: long tells
// a longer one, which is read to its end and dropped. Only strings and
// brackets are understood; whether the value is valid JSON is for its
// reader to find out.
func (d *jsonDecoder) value(limit int) (raw []byte, long bool, err error) {
	keep := func(c byte) {
		switch {
		case long:
		case len(raw) == limit:
			long, raw = true, nil
		default:
			raw = append(raw, c)
		}
	}
	depth, inString, escaped := 0, false, false
	for {
		if long && inString && !escaped {
			d.skipString()
		}
		c, err := d.r.ReadByte()
		if err != nil {
			return nil, false, d.readError(err)
		}
		if c == '\n' {
			d.line++
		}
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 { // the end of the enclosing array or object
				_ = d.r.UnreadByte()
				return raw, long, nil
			}
			depth--
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ':'):
			_ = d.r.UnreadByte()
			if c == '\n' {
				d.line--
			}
			return raw, long, nil
		}
		keep(c)
		if depth == 0 && !inString && (c == '"' || c == '}' || c == ']') {
			return raw, long, nil
		}
	}
}

// skipString drops the buffered bytes of a string being dropped, up to the
// next quote or backslash: a hostile string is read at the speed of memory.
func (d *jsonDecoder) skipString() { skipTo(d.r, `"\`, &d.line) }

// readError turns the end of the file inside the document into a file
// error that says it was cut short; the reader's own errors pass.
func (d *jsonDecoder) readError(err error) error {
	if d.err != nil {
		return d.err
	}
	if errors.Is(err, io.EOF) {
		return &FileError{Line: d.line, CutShort: true, Err: fmt.Errorf("the file ends in the middle of the document, after comment %d", d.n)}
	}
	return err
}

// broken is a file error at the current line.
func (d *jsonDecoder) broken(err error) error {
	return &FileError{Line: d.line, Err: err}
}
