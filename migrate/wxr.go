package migrate

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"parley/moderation"
)

// wpNamespace matches the namespaces WordPress has written its elements in:
// WXR 1.0, 1.1 and 1.2, over http or https.
var wpNamespace = regexp.MustCompile(`^https?://wordpress\.org/export/1\.\d+/$`)

// maxWPPrefixes bounds the namespaces a file may bind to "wp".
const maxWPPrefixes = 8

// wxrDateLayout is how WXR writes times.
const wxrDateLayout = "2006-01-02 15:04:05"

// wxrEncoder writes WordPress eXtended RSS 1.2: one <item> per post with its
// comments inside. Comments must come grouped by post (GroupsByPost). WXR
// comment ids are numbers, so each comment gets one, in order, and its Parley
// ID and exact status ride along as comment meta.
type wxrEncoder struct {
	w        *bufio.Writer
	site     string   // the blog's address, "" when none was given or it is not an http(s) URL
	origins  []string // the site's origin, for moderation.PostLink
	post     string
	open     bool
	items    int
	comments int
	nums     map[string]int // Parley ID → comment number, within the current item
}

func newWXREncoder(w io.Writer, opts EncodeOptions) (*wxrEncoder, error) {
	e := &wxrEncoder{w: bufio.NewWriterSize(w, 64<<10)}
	if u, err := url.Parse(opts.SiteURL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil {
		e.site, e.origins = strings.TrimRight(opts.SiteURL, "/"), []string{u.Scheme + "://" + u.Host}
	}
	site := xmlText(e.site)
	_, err := fmt.Fprintf(e.w, `<?xml version="1.0" encoding="UTF-8"?>
<!-- Comments exported by Parley as WordPress eXtended RSS (WXR) 1.2: one item per post, its comments inside. -->
<rss version="2.0"
	xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:dsq="http://www.disqus.com/"
	xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
	<title>Comments</title>
	<link>%s</link>
	<description>Comments exported by Parley</description>
	<pubDate>%s</pubDate>
	<generator>Parley</generator>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:base_site_url>%s</wp:base_site_url>
	<wp:base_blog_url>%s</wp:base_blog_url>
`, site, opts.Exported.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"), site, site)
	return e, err
}

func (e *wxrEncoder) Encode(c *moderation.Comment) error {
	if !e.open || c.Post != e.post {
		if err := e.closeItem(); err != nil {
			return err
		}
		if err := e.openItem(c); err != nil {
			return err
		}
	}
	e.comments++
	e.nums[c.ID] = e.comments
	_, err := fmt.Fprintf(e.w, `		<wp:comment>
			<wp:comment_id>%d</wp:comment_id>
			<wp:comment_author>%s</wp:comment_author>
			<wp:comment_author_email>%s</wp:comment_author_email>
			<wp:comment_author_url>%s</wp:comment_author_url>
			<wp:comment_author_IP></wp:comment_author_IP>
			<wp:comment_date>%s</wp:comment_date>
			<wp:comment_date_gmt>%s</wp:comment_date_gmt>
			<wp:comment_content>%s</wp:comment_content>
			<wp:comment_approved>%s</wp:comment_approved>
			<wp:comment_type>comment</wp:comment_type>
			<wp:comment_parent>%d</wp:comment_parent>
			<wp:comment_user_id>0</wp:comment_user_id>
			<wp:commentmeta>
				<wp:meta_key>parley_id</wp:meta_key>
				<wp:meta_value>%s</wp:meta_value>
			</wp:commentmeta>
			<wp:commentmeta>
				<wp:meta_key>parley_status</wp:meta_key>
				<wp:meta_value>%s</wp:meta_value>
			</wp:commentmeta>
		</wp:comment>
`, e.comments, xmlText(c.Author), xmlText(c.Email), xmlText(c.Website),
		c.Created.UTC().Format(wxrDateLayout), c.Created.UTC().Format(wxrDateLayout),
		cdata(c.HTML), wpApproved[c.Status], e.nums[c.Parent], xmlText(c.ID), c.Status)
	return err
}

// wpApproved is WordPress's comment_approved for each status: rejected and
// deleted comments go to the trash, where WordPress keeps what is not shown.
var wpApproved = map[moderation.Status]string{
	moderation.StatusApproved: "1",
	moderation.StatusPending:  "0",
	moderation.StatusSpam:     "spam",
	moderation.StatusRejected: "trash",
	moderation.StatusDeleted:  "trash",
}

func (e *wxrEncoder) openItem(c *moderation.Comment) error {
	e.open, e.post, e.nums = true, c.Post, map[string]int{}
	e.items++
	post := xmlText(c.Post)
	_, err := fmt.Fprintf(e.w, `	<item>
		<title>%s</title>
%s		<guid isPermaLink="false">%s</guid>
		<dsq:thread_identifier>%s</dsq:thread_identifier>
		<wp:post_id>%d</wp:post_id>
		<wp:post_date_gmt>%s</wp:post_date_gmt>
		<wp:status>publish</wp:status>
		<wp:post_type>post</wp:post_type>
		<wp:comment_status>open</wp:comment_status>
`, post, e.link(c.Post), post, post, e.items, c.Created.UTC().Format(wxrDateLayout))
	return err
}

// link is the item's <link> line: the post's page when its key resolves to
// the site's origin (moderation.PostLink), else no line at all, so that no
// key (javascript:…, //evil.example/x) becomes a link in a WordPress
// import. An importer then falls back to the guid, which is the key.
func (e *wxrEncoder) link(post string) string {
	if l := moderation.PostLink(post, e.origins); l != "" {
		return "\t\t<link>" + xmlText(l) + "</link>\n"
	}
	return ""
}

func (e *wxrEncoder) closeItem() error {
	if !e.open {
		return nil
	}
	e.open = false
	_, err := e.w.WriteString("\t</item>\n")
	return err
}

func (e *wxrEncoder) Close() error {
	if err := e.closeItem(); err != nil {
		return err
	}
	if _, err := e.w.WriteString("</channel>\n</rss>\n"); err != nil {
		return err
	}
	return e.w.Flush()
}

// wxrComment is a <wp:comment> as WordPress writes it.
type wxrComment struct {
	ID, Author, Email, URL, IP, Date, DateGMT, Content, Approved, Type, Parent string

	// What Parley's own WXR carries as comment meta.
	ParleyID, ParleyStatus string

	long string // the first field longer than maxField
}

// readComment reads the <wp:comment> that next just returned. Of its meta,
// only Parley's own is kept, so that a comment of a million meta costs no
// more than one of none.
func (d *wxrDecoder) readComment() (*wxrComment, error) {
	var c wxrComment
	var key, value string
	fields := map[string]*string{
		"comment_id": &c.ID, "comment_author": &c.Author, "comment_author_email": &c.Email,
		"comment_author_url": &c.URL, "comment_author_IP": &c.IP, "comment_date": &c.Date,
		"comment_date_gmt": &c.DateGMT, "comment_content": &c.Content, "comment_approved": &c.Approved,
		"comment_type": &c.Type, "comment_parent": &c.Parent,
		"commentmeta/meta_key": &key, "commentmeta/meta_value": &value,
	}
	err := d.fields(func(f *xmlField) {
		if f.long && c.long == "" {
			c.long = f.path
		}
		if field, ok := fields[f.path]; ok {
			*field = f.text
			return
		}
		if f.path == "commentmeta" {
			switch strings.TrimSpace(key) {
			case "parley_id":
				c.ParleyID = strings.TrimSpace(value)
			case "parley_status":
				c.ParleyStatus = strings.TrimSpace(value)
			}
			key, value = "", ""
		}
	})
	return &c, err
}

// wxrItem is what the decoder knows of the post whose comments it reads.
type wxrItem struct {
	link, guid, postID, identifier string
	ids                            map[string]string // WordPress comment id → the Parley id its meta gave
}

// wxrDecoder streams the comments of a WXR file. WordPress writes a post's
// fields before its comments, so one pass knows each comment's post.
type wxrDecoder struct {
	xmlReader
	opts   DecodeOptions
	site   string
	rss    bool
	inItem bool
	item   wxrItem
	wp     []string // the namespaces the file binds to the prefix "wp"
	items  int      // posts seen, to say why a file had no comments
	others int      // <comment> elements outside WordPress's namespace
}

func newWXRDecoder(r io.Reader, opts DecodeOptions) *wxrDecoder {
	d := &wxrDecoder{opts: opts}
	d.xmlReader = newXMLReader(r, "comment", d.prelude)
	return d
}

// prelude reopens the elements around a comment, binding wp as the file did.
func (d *wxrDecoder) prelude() string {
	var b strings.Builder
	b.WriteString("<rss")
	for i, ns := range d.wp {
		if i == 0 { // one binding is enough to find WordPress's elements
			b.WriteString(` xmlns:wp="` + xmlText(ns) + `"`)
		}
	}
	b.WriteString("><channel><item>")
	return b.String()
}

func (d *wxrDecoder) Next() (*moderation.ImportRecord, error) {
	for {
		start, err := d.next()
		if err == io.EOF {
			return nil, d.end()
		}
		if err != nil {
			return nil, err
		}
		d.bindings(&start)
		name := start.Name
		switch {
		case d.depth == 1 && name.Local == "rss":
			d.rss = true
		case d.depth == 3 && name.Local == "item":
			d.items++
			d.inItem, d.item = true, wxrItem{ids: map[string]string{}}
		case d.depth == 3 && (name.Local == "base_site_url" || (name.Local == "link" && name.Space == "" && d.site == "")):
			if d.site, err = d.text(); err != nil {
				return nil, err
			}
		case d.depth == 4 && d.inItem && name.Local == "comment" && !d.isWP(name.Space):
			d.others++
		case d.depth == 4 && d.inItem && name.Local == "comment":
			line := d.begin()
			c, err := d.readComment()
			return d.yield(err, func() *moderation.ImportRecord { return d.record(c, line) })
		case d.depth == 4 && d.inItem:
			if err := d.itemField(&start); err != nil {
				return nil, err
			}
		}
	}
}

// end says why a file that yielded no comment did not, or reports io.EOF.
func (d *wxrDecoder) end() error {
	switch {
	case !d.rss:
		return &FileError{Err: fmt.Errorf("this is not a WordPress export: it has no <rss> element")}
	case d.n > 0:
		return io.EOF
	case d.items == 0:
		return &NoCommentsError{Reason: "it is an RSS file without any <item> (post)"}
	case d.others > 0:
		return &NoCommentsError{Reason: fmt.Sprintf(
			"its %d <comment> elements are not in WordPress's namespace: WordPress writes <wp:comment>, with wp bound to https://wordpress.org/export/1.2/",
			d.others)}
	}
	return &NoCommentsError{Reason: fmt.Sprintf("none of its %d posts has a <wp:comment>", d.items)}
}

// bindings notes the namespaces an element binds to the prefix "wp". As
// WordPress's importer does, the file's own "wp" prefix names WordPress's
// namespace, whatever version or scheme it declares.
func (d *wxrDecoder) bindings(start *xml.StartElement) {
	for _, a := range start.Attr {
		if a.Name.Space == "xmlns" && a.Name.Local == "wp" && len(d.wp) < maxWPPrefixes && !slices.Contains(d.wp, a.Value) {
			d.wp = append(d.wp, a.Value)
		}
	}
}

// isWP reports whether space is WordPress's namespace: one the file binds to
// "wp", one WordPress has written, or the prefix wp left unbound.
func (d *wxrDecoder) isWP(space string) bool {
	return space == "wp" || wpNamespace.MatchString(space) || slices.Contains(d.wp, space)
}

// itemField notes the post fields that post keys are made of.
func (d *wxrDecoder) itemField(start *xml.StartElement) error {
	var field *string
	switch n := start.Name; {
	case n.Local == "link" && n.Space == "":
		field = &d.item.link
	case n.Local == "guid" && n.Space == "":
		field = &d.item.guid
	case n.Local == "post_id" && d.isWP(n.Space):
		field = &d.item.postID
	case n.Local == "thread_identifier":
		field = &d.item.identifier
	default:
		return nil
	}
	s, err := d.text()
	*field = s
	return err
}

// record turns a <wp:comment> into an import record. Comments that Parley
// exported carry their Parley ID and status in comment meta: those are used,
// so the same comment imported from ndjson and WXR is one comment.
func (d *wxrDecoder) record(c *wxrComment, line int) *moderation.ImportRecord {
	rec := &moderation.ImportRecord{Number: d.n, Line: line}
	f := &moderation.Foreign{
		Source: string(WXR), Site: d.site, ID: strings.TrimSpace(c.ID),
		Author: strings.TrimSpace(c.Author), Email: strings.TrimSpace(c.Email), Website: strings.TrimSpace(c.URL),
		IP: c.IP, HTML: c.Content,
	}
	if c.ParleyID != "" {
		f.Source, f.Site, f.ID = "parley", "", c.ParleyID
		d.item.ids[strings.TrimSpace(c.ID)] = f.ID
	}
	if p := strings.TrimSpace(c.Parent); p != "" && p != "0" {
		f.ParentID = p
		if id, ok := d.item.ids[p]; ok {
			f.ParentID = id
		}
	}
	rec.Foreign = f
	if rec.Problem = d.problem(c.long); rec.Problem != "" {
		return rec
	}
	switch typ := strings.TrimSpace(c.Type); typ {
	case "", "comment":
	default:
		rec.Problem = "is a " + typ + ", not a comment: only comments are imported"
		return rec
	}
	var err error
	if f.Status, f.Note, err = wxrStatus(c); err != nil {
		rec.Problem = err.Error()
		return rec
	}
	date, field := c.DateGMT, "comment_date_gmt"
	if date == "" || strings.HasPrefix(date, "0000") {
		date, field = c.Date, "comment_date" // WordPress leaves GMT empty on very old comments
	}
	if f.Created, err = parseTime(date); err != nil {
		rec.Problem = field + ": " + err.Error()
		return rec
	}
	mode := d.opts.PostKey
	id := d.item.identifier
	if id == "" {
		id = d.item.postID
	}
	link := d.item.link
	if link == "" {
		link = d.item.guid
	}
	if f.Post, err = postKey(mode, link, id); err != nil {
		rec.Problem = err.Error()
	}
	return rec
}

// wxrStatus maps comment_approved (or Parley's own status) to a status.
func wxrStatus(c *wxrComment) (moderation.Status, string, error) {
	if s := moderation.Status(c.ParleyStatus); s.Valid() || s == moderation.StatusDeleted {
		return s, "", nil
	}
	switch v := strings.TrimSpace(c.Approved); v {
	case "1", "approve":
		return moderation.StatusApproved, "", nil
	case "0", "hold":
		return moderation.StatusPending, "", nil
	case "spam":
		return moderation.StatusSpam, "marked as spam in WordPress", nil
	case "trash", "post-trashed":
		return moderation.StatusRejected, "was in WordPress's trash", nil
	default:
		return "", "", fmt.Errorf("comment_approved %s is not 1, 0, spam or trash", strconv.Quote(v))
	}
}
