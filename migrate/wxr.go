package migrate

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"parley/moderation"
)

// wpNamespace starts the namespace of WordPress's elements in every WXR
// version (1.0, 1.1, 1.2).
const wpNamespace = "http://wordpress.org/export/"

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
	ID       string `xml:"comment_id"`
	Author   string `xml:"comment_author"`
	Email    string `xml:"comment_author_email"`
	URL      string `xml:"comment_author_url"`
	IP       string `xml:"comment_author_IP"`
	Date     string `xml:"comment_date"`
	DateGMT  string `xml:"comment_date_gmt"`
	Content  string `xml:"comment_content"`
	Approved string `xml:"comment_approved"`
	Type     string `xml:"comment_type"`
	Parent   string `xml:"comment_parent"`
	Meta     []struct {
		Key   string `xml:"meta_key"`
		Value string `xml:"meta_value"`
	} `xml:"commentmeta"`
}

func (c *wxrComment) meta(key string) string {
	for _, m := range c.Meta {
		if m.Key == key {
			return strings.TrimSpace(m.Value)
		}
	}
	return ""
}

// wxrItem is what the decoder knows of the post whose comments it reads.
type wxrItem struct {
	link, guid, postID, identifier string
	ids                            map[string]string // WordPress comment id → the id its record was given
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
}

func newWXRDecoder(r io.Reader, opts DecodeOptions) *wxrDecoder {
	return &wxrDecoder{xmlReader: newXMLReader(r), opts: opts}
}

func (d *wxrDecoder) Next() (*moderation.ImportRecord, error) {
	for {
		start, err := d.next()
		if err == io.EOF {
			if !d.rss {
				return nil, &FileError{Err: fmt.Errorf("this is not a WordPress export: it has no <rss> element")}
			}
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
		name := start.Name
		switch {
		case d.depth == 1 && name.Local == "rss":
			d.rss = true
		case d.depth == 3 && name.Local == "item":
			d.inItem, d.item = true, wxrItem{ids: map[string]string{}}
		case d.depth == 3 && (name.Local == "base_site_url" || (name.Local == "link" && name.Space == "" && d.site == "")):
			if d.site, err = d.text(&start); err != nil {
				return nil, err
			}
		case d.depth == 4 && d.inItem && name.Local == "comment" && strings.HasPrefix(name.Space, wpNamespace):
			line := d.line()
			var c wxrComment
			if err := d.decode(&c, &start); err != nil {
				return nil, err
			}
			d.n++
			return d.record(&c, line), nil
		case d.depth == 4 && d.inItem:
			if err := d.itemField(&start); err != nil {
				return nil, err
			}
		}
	}
}

// itemField notes the post fields that post keys are made of.
func (d *wxrDecoder) itemField(start *xml.StartElement) error {
	var field *string
	switch n := start.Name; {
	case n.Local == "link" && n.Space == "":
		field = &d.item.link
	case n.Local == "guid" && n.Space == "":
		field = &d.item.guid
	case n.Local == "post_id" && strings.HasPrefix(n.Space, wpNamespace):
		field = &d.item.postID
	case n.Local == "thread_identifier":
		field = &d.item.identifier
	default:
		return nil
	}
	s, err := d.text(start)
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
	if id := c.meta("parley_id"); id != "" {
		f.Source, f.Site, f.ID = "parley", "", id
	}
	d.item.ids[strings.TrimSpace(c.ID)] = f.ID
	if p := strings.TrimSpace(c.Parent); p != "" && p != "0" {
		f.ParentID = p
		if id, ok := d.item.ids[p]; ok {
			f.ParentID = id
		}
	}
	rec.Foreign = f
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
	if s := moderation.Status(c.meta("parley_status")); s.Valid() || s == moderation.StatusDeleted {
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
