package moderation

import (
	"crypto/sha256"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Foreign is a comment exported by another system (WordPress, Disqus), as
// the format's decoder understood it.
type Foreign struct {
	Source   string // the system's format, e.g. "wxr"; part of the duplicate key
	Site     string // the site or forum its ids belong to; part of the duplicate key
	ID       string // the comment's id there
	ParentID string // its parent's id there, "" for a top-level comment
	Post     string // the Parley post key it belongs to
	Author   string
	Email    string
	Website  string
	IP       string // kept only as Parley's keyed hash
	HTML     string // the body as that system stored it: HTML, or text with line breaks
	Status   Status
	Note     string // why it has that status there, for its history
	Created  time.Time
}

// anonymous is the name WordPress shows for a comment without one.
const anonymous = "Anonymous"

// converted makes a new Parley comment of a foreign one. The body is made
// safe by the same policy as a submission's and checked by the same rules;
// the text kept as its body is the HTML's Markdown-lite reading. An email or
// website that breaks the rules is dropped rather than losing the comment:
// old systems stored junk there ("http://"), and both are optional.
func (s *Service) converted(f *Foreign, by string, now time.Time) (*ImportItem, error) {
	switch {
	case f.ID == "":
		return nil, invalid("id", "is required")
	case !f.Status.Valid() && f.Status != StatusDeleted:
		return nil, invalid("status", "must be pending, approved, rejected, spam or deleted")
	case f.Created.IsZero():
		return nil, invalid("created", "is required and must be a valid date")
	}
	if err := checkPostKey(f.Post); err != nil {
		return nil, err
	}
	c := &Comment{
		ID: NewID(f.Created), Post: f.Post, Status: f.Status,
		Created: f.Created.UTC(), Updated: now,
		History: []Change{{Status: f.Status, At: now, By: by, Reason: strings.TrimSpace("imported from " + f.Source + "; " + f.Note)}},
	}
	c.History[0].Reason = strings.TrimSuffix(c.History[0].Reason, ";")
	if f.Status != StatusDeleted {
		body, safe, err := s.fromHTML(f.HTML)
		if err != nil {
			return nil, err
		}
		sub := Submission{Post: f.Post, Author: f.Author, Email: f.Email, Website: f.Website, Body: body}
		if strings.TrimSpace(sub.Author) == "" {
			sub.Author = anonymous
		}
		err = s.checkImported(&sub)
		if ve, ok := err.(*ValidationError); ok && (ve.Fields["email"] != "" || ve.Fields["website"] != "") {
			if ve.Fields["email"] != "" {
				sub.Email = ""
			}
			if ve.Fields["website"] != "" {
				sub.Website = ""
			}
			err = s.checkImported(&sub)
		}
		if err != nil {
			return nil, err
		}
		c.Post, c.Author, c.Email, c.Website, c.Body, c.HTML = sub.Post, sub.Author, sub.Email, sub.Website, sub.Body, safe
		if net.ParseIP(strings.TrimSpace(f.IP)) != nil {
			c.IPHash = s.HashIP(strings.TrimSpace(f.IP))
		}
	}
	item := &ImportItem{
		Comment: c,
		Key:     importKey(f.Source, f.Site, f.ID),
		Attach:  func(parent *Comment) error { return placeReply(c, parent, true) },
	}
	if f.ParentID != "" {
		item.ParentKey = importKey(f.Source, f.Site, f.ParentID)
	}
	return item, nil
}

// importKey names an imported comment by where it came from: a fixed-size
// hash of the system, the site and the id there, so that the same comment
// imported twice is found, and two sites' comment 42 are not confused.
func importKey(source, site, id string) []byte {
	sum := sha256.Sum256([]byte(source + "\x00" + site + "\x00" + id))
	return sum[:16]
}

// fromHTML reads a foreign body: it returns the Markdown-lite text to keep as
// the body, and the HTML readers get, sanitized by the comment policy with
// every link marked like a commenter's link.
func (s *Service) fromHTML(raw string) (text, safe string, err error) {
	raw = paragraphs(strings.ReplaceAll(raw, "\r\n", "\n"))
	nodes, err := parseFragment(raw)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	for _, n := range nodes {
		adapt(n)
		if err := html.Render(&b, n); err != nil {
			return "", "", err
		}
	}
	// Write void elements as goldmark does, so imported and native HTML match.
	safe = s.renderer.Sanitize(strings.NewReplacer("<br/>", "<br>", "<hr/>", "<hr>").Replace(b.String()))
	if nodes, err = parseFragment(safe); err != nil {
		return "", "", err
	}
	var t textWriter
	for _, n := range nodes {
		t.node(n)
	}
	return t.String(), safe, nil
}

func parseFragment(s string) ([]*html.Node, error) {
	return html.ParseFragment(strings.NewReader(s), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
}

// blockTag finds the tags that open or close a block of their own.
var blockTag = regexp.MustCompile(`(?i)<(/?)(p|div|ul|ol|blockquote|pre|table|h[1-6]|hr)\b[^>]*>`)

// preBlock finds preformatted text, whose line breaks are its own.
var preBlock = regexp.MustCompile(`(?is)<pre\b.*?</pre>`)

// paragraphs does what WordPress does to a comment when it shows it (its
// wpautop, simplified): blank lines and block elements separate paragraphs,
// single line breaks within one become <br>. Disqus bodies, already made of
// paragraphs, pass unchanged.
func paragraphs(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range preBlock.FindAllStringIndex(s, -1) {
		b.WriteString(paragraphsOf(s[last:m[0]]))
		b.WriteString(s[m[0]:m[1]] + "\n")
		last = m[1]
	}
	b.WriteString(paragraphsOf(s[last:]))
	return b.String()
}

func paragraphsOf(s string) string {
	s = blockTag.ReplaceAllStringFunc(s, func(tag string) string {
		if strings.HasPrefix(tag, "</") {
			return tag + "\n\n"
		}
		return "\n\n" + tag
	})
	var b strings.Builder
	for _, p := range strings.Split(s, "\n\n") {
		switch p = strings.TrimSpace(p); {
		case p == "":
		case blockTag.MatchString(p) && strings.HasPrefix(p, "<"):
			b.WriteString(p + "\n")
		default:
			b.WriteString("<p>" + strings.ReplaceAll(p, "\n", "<br>\n") + "</p>\n")
		}
	}
	return b.String()
}

// adapt turns what other systems write into what the comment policy
// allows: <b> and <i> become <strong> and <em>, and every link is marked like
// a commenter's link.
func adapt(n *html.Node) {
	switch {
	case n.Type != html.ElementNode:
	case n.DataAtom == atom.B:
		n.DataAtom, n.Data = atom.Strong, "strong"
	case n.DataAtom == atom.I:
		n.DataAtom, n.Data = atom.Em, "em"
	case n.DataAtom == atom.A && linkable(attr(n, "href")):
		attrs := n.Attr[:0]
		for _, a := range n.Attr {
			if a.Key != "rel" {
				attrs = append(attrs, a)
			}
		}
		n.Attr = append(attrs, html.Attribute{Key: "rel", Val: linkRel})
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		adapt(c)
	}
}

// linkable reports whether the policy keeps a link to href, so that only
// links that stay get marked (an <a> without one would linger, empty).
func linkable(href string) bool {
	u, err := url.Parse(strings.TrimSpace(href))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "mailto")
}

// textWriter reads sanitized comment HTML back as Markdown-lite.
type textWriter struct {
	buf []byte
	pre bool
}

func (t *textWriter) write(s string) { t.buf = append(t.buf, s...) }

func (t *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		if t.pre {
			t.write(n.Data)
			return
		}
		text := collapseSpace(n.Data)
		if len(t.buf) == 0 || t.buf[len(t.buf)-1] == '\n' || t.buf[len(t.buf)-1] == ' ' {
			text = strings.TrimLeft(text, " ")
		}
		t.write(text)
		return
	case html.ElementNode:
	default:
		t.children(n)
		return
	}
	switch n.DataAtom {
	case atom.Br:
		t.trimSpace()
		t.write("\n")
	case atom.P, atom.Ul, atom.Ol:
		t.block()
		t.children(n)
		t.block()
	case atom.Hr:
		t.block()
		t.write("---")
		t.block()
	case atom.Pre:
		t.block()
		t.write("```\n")
		t.pre = true
		t.children(n)
		t.pre = false
		t.write("\n```")
		t.block()
	case atom.Blockquote:
		var inner textWriter
		inner.children(n)
		t.block()
		lines := strings.Split(inner.String(), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight("> "+l, " ")
		}
		t.write(strings.Join(lines, "\n"))
		t.block()
	case atom.Li:
		t.trimSpace()
		if len(t.buf) > 0 && t.buf[len(t.buf)-1] != '\n' {
			t.write("\n")
		}
		t.write("- ")
		t.children(n)
	case atom.Em:
		t.wrap(n, "*")
	case atom.Strong:
		t.wrap(n, "**")
	case atom.Del:
		t.wrap(n, "~~")
	case atom.Code:
		if t.pre {
			t.children(n)
			return
		}
		t.wrap(n, "`")
	case atom.A:
		var inner textWriter
		inner.children(n)
		label, href := inner.String(), attr(n, "href")
		if href == "" || href == label || strings.TrimPrefix(href, "mailto:") == label {
			t.write(label)
			return
		}
		t.write("[" + label + "](" + href + ")")
	default:
		t.children(n)
	}
}

func (t *textWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		t.node(c)
	}
}

func (t *textWriter) wrap(n *html.Node, mark string) {
	t.write(mark)
	t.children(n)
	t.write(mark)
}

// trimSpace drops spaces at the end of the current line.
func (t *textWriter) trimSpace() {
	for len(t.buf) > 0 && t.buf[len(t.buf)-1] == ' ' {
		t.buf = t.buf[:len(t.buf)-1]
	}
}

// block ends the current paragraph with a blank line.
func (t *textWriter) block() {
	t.trimSpace()
	for len(t.buf) > 0 && !strings.HasSuffix(string(t.buf), "\n\n") {
		t.write("\n")
	}
}

// String is the text without white space at either end.
func (t *textWriter) String() string {
	return strings.TrimFunc(string(t.buf), unicode.IsSpace)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// collapseSpace reads text as HTML shows it: a run of white space is one space.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}
