package migrate

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// The bounds of what an XML import reads. maxField is far above the largest
// field a comment export holds (WordPress's 65,525-character comment, each
// character escaped as an entity), so that only a hostile or broken file
// reaches it; maxMarkup bounds a tag with its attributes, a processing
// instruction or a DOCTYPE; maxXMLDepth bounds nesting.
const (
	maxField    = 1 << 20
	maxMarkup   = 64 << 10
	maxXMLDepth = 256
)

// What an xmlSource is reading.
const (
	inText    = iota
	inTag     // <name attr="…">, </name>
	inComment // <!-- … -->
	inCDATA   // <![CDATA[ … ]]>
	inPI      // <? … ?>
	inDecl    // <!DOCTYPE …>
)

// xmlSource sits between an import file and encoding/xml, so that one bad
// record costs only that record and no string grows without bound:
//
//   - a run of text or a CDATA section longer than maxField is cut there
//     (the rest is read and dropped) and counted in cuts, so the record
//     holding it is reported invalid, while memory stays flat;
//   - bytes that are not UTF-8 and characters XML does not allow (control
//     characters, &#1;) become U+FFFD and are noted in problem, so that
//     they make their record invalid instead of stopping the file;
//   - an & that starts no known reference is read as a literal &, as
//     browsers and WordPress read it; HTML's named entities are known;
//   - an attribute value without quotes (dsq:id=42) is quoted, and noted;
//   - a leading byte order mark is dropped.
//
// After XML that breaks inside a record, resume skips the rest of it.
//
// It is an io.ByteReader, so encoding/xml reads from it byte by byte with
// no read-ahead: cuts, problem and line always describe what the decoder
// has consumed.
type xmlSource struct {
	r       *bufio.Reader
	out     []byte // bytes ready for the decoder
	pos     int
	state   int
	run     int  // bytes of the current text, section or tag
	quote   byte // in a tag: the quote of the attribute value being read (or unquoted)
	afterEq bool // in a tag: an = was the last byte but spaces, a value is next
	skip    bool // the current text or section passed maxField: dropping the rest
	tail    [2]byte
	started bool

	line    int    // the line of the last byte read, from 1
	cuts    int    // fields cut at maxField so far
	problem string // the first encoding problem since the last reset
	eof     bool   // the file ended
	err     error  // the reader's own error (a body limit, a closed connection)
	fatal   error  // markup past repair: a tag longer than maxMarkup
}

func newXMLSource(r io.Reader) *xmlSource {
	return &xmlSource{r: bufio.NewReaderSize(r, 64<<10), line: 1}
}

// ReadByte gives the decoder its next byte.
func (s *xmlSource) ReadByte() (byte, error) {
	for s.pos == len(s.out) {
		if s.fatal != nil {
			return 0, s.fatal
		}
		if s.eof {
			return 0, io.EOF
		}
		if s.err != nil {
			return 0, s.err
		}
		s.out, s.pos = s.out[:0], 0
		s.step()
	}
	b := s.out[s.pos]
	s.pos++
	return b, nil
}

// Read lets xmlSource be an io.Reader too (encoding/xml asks for one).
func (s *xmlSource) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := s.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		p[n] = b
		n++
		if s.pos == len(s.out) {
			break
		}
	}
	return n, nil
}

// note keeps the first problem of the current record.
func (s *xmlSource) note(format string, args ...any) {
	if s.problem == "" {
		s.problem = fmt.Sprintf("line %d: ", s.line) + fmt.Sprintf(format, args...)
	}
}

// step reads one character (or reference) of the file and queues what the
// decoder should see of it.
func (s *xmlSource) step() {
	if !s.started {
		s.started = true
		if bom, _ := s.r.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
			_, _ = s.r.Discard(3)
		}
	}
	if s.skip && s.state != inTag && s.tail[1] != terminators[s.state] {
		s.skipRun()
	}
	c, err := s.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			s.eof = true
		} else {
			s.err = err
		}
		return
	}
	if c == '\n' {
		s.line++
	}
	unit := ascii[int(c) : int(c)+1 : int(c)+1]
	if c >= utf8.RuneSelf {
		_ = s.r.UnreadByte()
		p, _ := s.r.Peek(utf8.UTFMax)
		r, size := utf8.DecodeRune(p)
		_, _ = s.r.Discard(size)
		switch {
		case r == utf8.RuneError && size == 1:
			s.note("is not valid UTF-8")
			unit = []byte("\uFFFD")
		case r == 0xFFFE || r == 0xFFFF:
			s.note("has the character %U, which XML does not allow", r)
			unit = []byte("\uFFFD")
		default:
			unit = p[:size:size]
		}
	} else if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
		s.note("has the control character %U, which XML does not allow", rune(c))
		unit = []byte("\uFFFD")
	}
	switch s.state {
	case inText:
		s.text(c, unit)
	case inTag:
		s.tag(c, unit)
	default:
		s.section(c, unit)
	}
	s.tail = [2]byte{s.tail[1], c}
}

// ascii holds every byte, to give one without allocating.
var ascii = func() (b [256]byte) {
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// terminators are the bytes that may end a run being dropped, by state.
const terminators = "<\x00-]?>" // inText, inTag (never dropped), inComment, inCDATA, inPI, inDecl

// skipRun drops the buffered bytes of a cut run up to the next byte that may
// end it: a hostile field is read at the speed of memory.
func (s *xmlSource) skipRun() {
	if skipTo(s.r, terminators[s.state:s.state+1], &s.line) {
		s.tail = [2]byte{}
	}
}

// skipTo discards what r holds up to the next of the stop bytes, or to the
// end, counting the lines it passes; it reports whether it discarded any.
func skipTo(r *bufio.Reader, stops string, line *int) (skipped bool) {
	for {
		if _, err := r.Peek(1); err != nil {
			return skipped // the reader's next read sees the end or the error
		}
		buf, _ := r.Peek(r.Buffered())
		i := bytes.IndexAny(buf, stops)
		if i < 0 {
			i = len(buf)
		}
		*line += bytes.Count(buf[:i], []byte("\n"))
		_, _ = r.Discard(i)
		skipped = skipped || i > 0
		if i < len(buf) {
			return skipped
		}
	}
}

// resume drops what is left of a broken record: it reads to the end tag
// of the record's element (local name record, any prefix) or to the start of
// the next one, and queues prelude, then that start, for a new decoder. It
// reports false at the end of the file.
func (s *xmlSource) resume(record, prelude string) bool {
	s.out, s.pos = append(s.out[:0], prelude...), 0
	s.state, s.run, s.skip, s.quote, s.afterEq, s.tail = inText, 0, false, 0, false, [2]byte{}
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return false
		}
		if c == '\n' {
			s.line++
		}
		if c != '<' {
			continue
		}
		name, _ := s.r.Peek(maxNameLen)
		end := bytes.IndexAny(name, " \t\r\n/>")
		if end == 0 && name[0] == '/' { // an end tag
			if n := bytes.IndexByte(name, '>'); n > 0 && localName(name[1:n]) == record {
				_, _ = s.r.Discard(n + 1)
				return true
			}
			continue
		}
		if end > 0 && localName(name[:end]) == record {
			s.out = append(append(s.out, '<'), name[:end]...)
			_, _ = s.r.Discard(end)
			s.state, s.run = inTag, end+1
			return true
		}
	}
}

// maxNameLen bounds the tag names resume reads.
const maxNameLen = 128

// localName is a qualified name without its prefix.
func localName(qname []byte) string {
	if i := bytes.IndexByte(qname, ':'); i >= 0 {
		qname = qname[i+1:]
	}
	return string(qname)
}

// unquoted is quote while an attribute value without quotes is read.
const unquoted = 1

// next is the byte after the current one, 0 at the end.
func (s *xmlSource) next() byte {
	if p, _ := s.r.Peek(1); len(p) == 1 {
		return p[0]
	}
	return 0
}

// emit queues unit as part of the current run, or cuts the run at maxField.
func (s *xmlSource) emit(unit []byte) {
	if s.skip {
		return
	}
	if s.run+len(unit) > maxField && (s.state == inText || s.state == inCDATA || s.state == inComment) {
		s.skip = true
		s.cuts++
		return
	}
	s.run += len(unit)
	s.out = append(s.out, unit...)
}

// begin starts a run of the given kind after the bytes that open it.
func (s *xmlSource) begin(state int, open string) {
	s.state, s.run, s.skip, s.quote, s.afterEq = state, 0, false, 0, false
	s.out = append(s.out, open...)
}

func (s *xmlSource) text(c byte, unit []byte) {
	switch {
	case c == '<':
		s.markup()
	case c == '&':
		s.emit(s.reference())
	case c == '>' && s.tail == [2]byte{']', ']'}:
		s.emit([]byte("&gt;")) // a literal ]]> outside CDATA
	default:
		s.emit(unit)
	}
}

// openings are the markup a < may open besides a tag, longest first.
var openings = []struct {
	open  string
	state int
}{{"<![CDATA[", inCDATA}, {"<!--", inComment}, {"<?", inPI}, {"<!", inDecl}}

// markup starts what a < opens: a tag, a comment, a CDATA section, a
// processing instruction or a declaration.
func (s *xmlSource) markup() {
	p, _ := s.r.Peek(8)
	s.tail = [2]byte{}
	for _, m := range openings {
		if bytes.HasPrefix(p, []byte(m.open[1:])) {
			_, _ = s.r.Discard(len(m.open) - 1)
			s.begin(m.state, m.open)
			return
		}
	}
	s.begin(inTag, "<")
}

func (s *xmlSource) tag(c byte, unit []byte) {
	if s.run > maxMarkup {
		s.fatal = &FileError{Line: s.line, Err: fmt.Errorf("a tag is longer than %d KiB: this is not a comment export", maxMarkup>>10)}
		return
	}
	space := c == ' ' || c == '\t' || c == '\n' || c == '\r'
	switch {
	case s.quote == unquoted && (space || c == '>' || (c == '/' && s.next() == '>')):
		s.out = append(s.out, '"')
		s.quote = 0
	case s.afterEq && !space && c != '"' && c != '\'':
		// An attribute value without quotes (dsq:id=42), as HTML allows:
		// read up to the next space or the tag's end, and quoted.
		s.note("has an attribute value without quotes")
		s.out = append(s.out, '"')
		s.quote, s.afterEq = unquoted, false
		s.run += len(unit)
		s.out = append(s.out, unit...)
		return
	}
	if !space {
		s.afterEq = s.quote == 0 && c == '='
	}
	switch {
	case s.quote == unquoted && c == '"':
		unit = []byte("&quot;")
	case s.quote == unquoted && c == '&':
		unit = s.reference()
	case s.quote == 0 && (c == '"' || c == '\''):
		s.quote = c
	case s.quote != 0 && c == s.quote:
		s.quote = 0
	case s.quote == 0 && c == '>':
		s.out = append(s.out, '>')
		s.state, s.run, s.skip = inText, 0, false
		return
	case s.quote != 0 && c == '<':
		unit = []byte("&lt;")
	case s.quote != 0 && c == '&':
		unit = s.reference()
	}
	s.run += len(unit)
	s.out = append(s.out, unit...)
}

// section reads comments, CDATA, processing instructions and declarations
// up to their end. Comments and CDATA are cut at maxField; the others are
// markup, which past maxMarkup is no comment export.
func (s *xmlSource) section(c byte, unit []byte) {
	var end bool
	switch s.state {
	case inComment:
		end = c == '>' && s.tail == [2]byte{'-', '-'}
	case inCDATA:
		end = c == '>' && s.tail == [2]byte{']', ']'}
	case inPI:
		end = c == '>' && s.tail[1] == '?'
	case inDecl:
		if c == '[' {
			s.quote++
		} else if c == ']' && s.quote > 0 {
			s.quote--
		}
		end = c == '>' && s.quote == 0
	}
	if end {
		if s.skip && s.state != inPI && s.state != inDecl {
			// The run was cut: close it as it was closed.
			s.out = append(s.out, s.tail[0], s.tail[1])
		}
		s.out = append(s.out, '>')
		s.state, s.run, s.skip = inText, 0, false
		return
	}
	if (s.state == inPI || s.state == inDecl) && s.run > maxMarkup {
		s.fatal = &FileError{Line: s.line, Err: fmt.Errorf("a declaration is longer than %d KiB: this is not a comment export", maxMarkup>>10)}
		return
	}
	s.emit(unit)
}

// reference reads what follows an & and returns what the decoder should
// see: the reference itself when encoding/xml knows it, &amp; for an & that
// starts none (it stays a literal &), and a U+FFFD for a numeric reference
// to a character XML does not allow.
func (s *xmlSource) reference() []byte {
	p, _ := s.r.Peek(40)
	end := bytes.IndexByte(p, ';')
	if end <= 0 {
		return []byte("&amp;")
	}
	ref := p[:end]
	if ref[0] == '#' {
		var n uint64
		var err error
		if len(ref) > 1 && (ref[1] == 'x' || ref[1] == 'X') {
			n, err = strconv.ParseUint(string(ref[2:]), 16, 32)
		} else {
			n, err = strconv.ParseUint(string(ref[1:]), 10, 32)
		}
		if err != nil {
			return []byte("&amp;")
		}
		_, _ = s.r.Discard(end + 1)
		if r := rune(n); n > utf8.MaxRune || !isXMLChar(r) {
			s.note("has the character reference &%s;, which XML does not allow", ref)
			return []byte("&#xFFFD;")
		}
		return append([]byte("&"), p[:end+1]...)
	}
	name := string(ref)
	if _, ok := xml.HTMLEntity[name]; !ok && name != "amp" && name != "lt" && name != "gt" && name != "quot" && name != "apos" {
		return []byte("&amp;")
	}
	unit := append([]byte("&"), p[:end+1]...)
	_, _ = s.r.Discard(end + 1)
	return unit
}

// isXMLChar reports whether XML 1.0 allows r in a document.
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= utf8.MaxRune)
}
