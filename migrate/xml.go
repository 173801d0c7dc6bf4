package migrate

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"parley/moderation"
)

// xmlReader is what the WXR and Disqus decoders share: a streaming
// xml.Decoder over an xmlSource, that knows its depth, reads each record's
// fields with bounded memory and reports where the file broke.
type xmlReader struct {
	src   *xmlSource
	dec   *xml.Decoder
	depth int
	n     int // records read

	// What recovering from XML broken inside a record needs: the local name
	// of the record element, the markup that reopens the elements around a
	// record (with the namespaces they bind), and how many of its start
	// elements next still has to pass over.
	record   string
	prelude  func() string
	replay   int
	syntax   bool // the last error was broken XML, not the end of the file
	inRecord bool // between begin and the next call of next
}

func newXMLReader(r io.Reader, record string, prelude func() string) xmlReader {
	src := newXMLSource(r)
	return xmlReader{src: src, dec: newXMLDecoder(src), record: record, prelude: prelude}
}

func newXMLDecoder(src *xmlSource) *xml.Decoder {
	dec := xml.NewDecoder(src)
	dec.Strict = true
	dec.Entity = xml.HTMLEntity
	dec.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("the file is in %s, not UTF-8: convert it first, e.g. iconv -f %s -t UTF-8", label, label)
	}
	return dec
}

// brokenRecord is a record whose XML is broken (a tag closed by another, a
// stray <): the reader went on after it, and the record is invalid.
type brokenRecord struct{ reason string }

func (b *brokenRecord) Error() string { return b.reason }

// yield counts a record just read and makes it with record, giving it the
// problem of XML that broke inside it; other errors stop the file.
func (x *xmlReader) yield(err error, record func() *moderation.ImportRecord) (*moderation.ImportRecord, error) {
	var broken *brokenRecord
	if err != nil && !errors.As(err, &broken) {
		return nil, err
	}
	x.n++
	rec := record()
	if broken != nil {
		rec.Problem = broken.reason
	}
	return rec, nil
}

// recover turns broken XML inside a record into that record's problem. The
// source skips to the record's end tag (or to the next record's start), and
// a new decoder goes on from there, the elements around the record reopened
// by the prelude. Anything else (a file cut short, broken XML between
// records) stays the file error it is.
func (x *xmlReader) recover(err error) error {
	var fe *FileError
	if !x.inRecord || !x.syntax || !errors.As(err, &fe) || x.src.fatal != nil || x.src.err != nil {
		return err
	}
	if !x.src.resume(x.record, x.prelude()) {
		return &FileError{Line: x.src.line, CutShort: true,
			Err: fmt.Errorf("the file ends in the middle of the document, after comment %d", x.n)}
	}
	x.dec, x.depth, x.syntax = newXMLDecoder(x.src), 0, false
	x.replay = strings.Count(x.prelude(), "<")
	return &brokenRecord{reason: fe.Error()}
}

// token returns the next token, keeping track of depth.
func (x *xmlReader) token() (xml.Token, error) {
	tok, err := x.dec.Token()
	if err != nil {
		return nil, x.fileError(err)
	}
	switch tok.(type) {
	case xml.StartElement:
		if x.depth++; x.depth > maxXMLDepth {
			return nil, &FileError{Line: x.src.line, Err: fmt.Errorf("elements are nested deeper than %d: this is not a comment export", maxXMLDepth)}
		}
	case xml.EndElement:
		x.depth--
	}
	return tok, nil
}

// next returns the next start element. End elements and text between
// records are consumed on the way.
func (x *xmlReader) next() (xml.StartElement, error) {
	x.inRecord = false
	for {
		tok, err := x.token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if start, ok := tok.(xml.StartElement); ok && x.replay > 0 {
			x.replay-- // the prelude of a recovery: seen before
		} else if ok {
			return start, nil
		}
	}
}

// xmlField is one element read inside a record, once its end is read.
type xmlField struct {
	path  string     // the local names below the record, joined by "/"
	attrs []xml.Attr // the element's attributes
	text  string     // its text, when it holds no element (else what follows the last one)
	long  bool       // its text was longer than maxField: text is cut
}

// attr is the value of the attribute of that local name, in any namespace
// but none (Disqus writes dsq:id).
func (f *xmlField) attr(local string) string {
	for _, a := range f.attrs {
		if a.Name.Local == local && a.Name.Space != "" {
			return a.Value
		}
	}
	return ""
}

// fields reads the element that next just returned to its end, calling fn
// for every element inside it. At most maxField bytes of text are kept, so a
// record costs bounded memory whatever the file holds.
func (x *xmlReader) fields(fn func(f *xmlField)) error {
	var path []string
	var attrs [][]xml.Attr
	var text []byte
	long, cuts := false, x.src.cuts
	for {
		tok, err := x.token()
		if err != nil {
			return x.recover(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path, attrs = append(path, t.Name.Local), append(attrs, t.Attr)
			text, long, cuts = text[:0], false, x.src.cuts
		case xml.CharData:
			if len(text)+len(t) > maxField {
				long = true
			} else if !long {
				text = append(text, t...)
			}
		case xml.EndElement:
			if len(path) == 0 {
				return nil
			}
			fn(&xmlField{path: strings.Join(path, "/"), attrs: attrs[len(attrs)-1], text: string(text), long: long || x.src.cuts != cuts})
			path, attrs = path[:len(path)-1], attrs[:len(attrs)-1]
			text, long, cuts = text[:0], false, x.src.cuts
		}
	}
}

// text reads the text of the element that next just returned, cut at
// maxField.
func (x *xmlReader) text() (string, error) {
	var text []byte
	for depth := 0; ; {
		tok, err := x.token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.CharData:
			if len(text)+len(t) <= maxField {
				text = append(text, t...)
			}
		case xml.EndElement:
			if depth == 0 {
				return strings.TrimSpace(string(text)), nil
			}
			depth--
		}
	}
}

// problem says why the record just read cannot be imported as read: a
// field cut at maxField (long names it), or bytes the source had to
// replace. "" when neither.
func (x *xmlReader) problem(long string) string {
	if long != "" {
		return fmt.Sprintf("%s is longer than %d MiB: it was cut while reading", long, maxField>>20)
	}
	return x.src.problem
}

// begin starts a record: problems noted from here on are its own.
func (x *xmlReader) begin() (line int) {
	x.src.problem, x.inRecord = "", true
	return x.src.line
}

// fileError says where the XML broke, and whether the file was cut short;
// io.EOF and reader errors pass.
func (x *xmlReader) fileError(err error) error {
	var fe *FileError
	switch {
	case x.src.err != nil:
		return x.src.err
	case errors.As(err, &fe):
		return err
	case errors.Is(err, io.EOF):
		return io.EOF
	}
	var syntax *xml.SyntaxError
	switch {
	case x.src.eof:
		err = fmt.Errorf("the file ends in the middle of the document, after comment %d", x.n)
	case errors.As(err, &syntax):
		x.syntax = true
		err = fmt.Errorf("the XML is broken: %s", syntax.Msg)
	}
	return &FileError{Line: x.src.line, Err: err, CutShort: x.src.eof}
}

// xmlText escapes s for XML text or attribute values.
func xmlText(s string) string { return xmlEscaper.Replace(xmlChars(s)) }

// cdata wraps s in a CDATA section, as WordPress writes bodies, so that HTML
// reads as HTML; a "]]>" inside is split across two sections.
func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(xmlChars(s), "]]>", "]]]]><![CDATA[>") + "]]>"
}

// xmlChars drops the characters XML cannot carry at all.
func xmlChars(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000 {
			return r
		}
		return -1
	}, s)
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

// postKey makes a Parley post key from what a system knew of the page.
func postKey(mode PostKey, link, id string) (string, error) {
	switch {
	case mode == PostKeyID && id != "":
		return id, nil
	case mode == PostKeyURL && link != "":
		return link, nil
	case link == "":
		return "", errors.New("its page has no link")
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("its page's link %q is not a URL", link)
	}
	if u.Path == "" {
		return "/", nil
	}
	return u.Path, nil
}

// parseTime reads the date formats of WordPress and Disqus exports as UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}
