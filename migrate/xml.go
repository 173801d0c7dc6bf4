package migrate

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// xmlReader is what the WXR and Disqus decoders share: a streaming
// xml.Decoder that knows its depth and reports where the file broke.
type xmlReader struct {
	src   *sourceReader
	dec   *xml.Decoder
	depth int
	n     int // records read
}

func newXMLReader(r io.Reader) xmlReader {
	src := &sourceReader{r: r}
	dec := xml.NewDecoder(src)
	dec.Strict = true
	return xmlReader{src: src, dec: dec}
}

// next returns the next start element, keeping track of depth. End
// elements and text between records are consumed on the way.
func (x *xmlReader) next() (xml.StartElement, error) {
	for {
		tok, err := x.dec.Token()
		if err != nil {
			return xml.StartElement{}, x.fileError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			x.depth++
			return t, nil
		case xml.EndElement:
			x.depth--
		}
	}
}

// decode reads the element that start opened, into v.
func (x *xmlReader) decode(v any, start *xml.StartElement) error {
	if err := x.dec.DecodeElement(v, start); err != nil {
		return x.fileError(err)
	}
	x.depth--
	return nil
}

// text reads the text of the element that start opened.
func (x *xmlReader) text(start *xml.StartElement) (string, error) {
	var s string
	err := x.decode(&s, start)
	return strings.TrimSpace(s), err
}

func (x *xmlReader) line() int {
	line, _ := x.dec.InputPos()
	return line
}

// fileError says where the XML broke; io.EOF and reader errors pass.
func (x *xmlReader) fileError(err error) error {
	switch {
	case x.src.err != nil:
		return x.src.err
	case errors.Is(err, io.EOF):
		return io.EOF
	}
	var syntax *xml.SyntaxError
	if errors.As(err, &syntax) {
		return &FileError{Line: syntax.Line, Err: fmt.Errorf("the XML is broken: %s", syntax.Msg)}
	}
	return &FileError{Line: x.line(), Err: err}
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
