package migrate

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"parley/moderation"
)

// disqusThread is what the decoder keeps of a <thread>, a page that has
// comments: its post key (or why it has none) and its forum. Threads are
// kept until the end of the file, so each keeps only what is bounded.
type disqusThread struct {
	post, problem, forum string
	deleted              bool
}

// maxKept bounds the forum name kept per thread; post keys are at most 512
// bytes, and a thread whose link makes none keeps why.
const maxKept = 256

// disqusPost is a <post>: one comment.
type disqusPost struct {
	ID, OwnID, Message, CreatedAt, IsDeleted, IsSpam, Name, Email, Username, IP, Thread, Parent string

	long string // the first field longer than maxField
}

// disqusDecoder streams a Disqus export: categories, then threads (kept in
// memory, one small entry per page), then posts, yielded one by one.
type disqusDecoder struct {
	xmlReader
	opts    DecodeOptions
	root    bool
	threads map[string]disqusThread
}

func newDisqusDecoder(r io.Reader, opts DecodeOptions) *disqusDecoder {
	prelude := func() string { return `<disqus xmlns:dsq="http://disqus.com/disqus-internals">` }
	return &disqusDecoder{xmlReader: newXMLReader(r, "post", prelude), opts: opts, threads: map[string]disqusThread{}}
}

func (d *disqusDecoder) Next() (*moderation.ImportRecord, error) {
	for {
		start, err := d.next()
		if err == io.EOF {
			return nil, d.end()
		}
		if err != nil {
			return nil, err
		}
		switch {
		case d.depth == 1 && start.Name.Local == "disqus":
			d.root = true
		case d.depth == 2 && start.Name.Local == "thread":
			id := dsqID(start.Attr)
			t, err := d.readThread()
			if err != nil {
				return nil, err
			}
			d.threads[id] = t
		case d.depth == 2 && start.Name.Local == "post":
			line := d.begin()
			p := &disqusPost{ID: dsqID(start.Attr)}
			err := d.readPost(p)
			return d.yield(err, func() *moderation.ImportRecord { return d.record(p, line) })
		}
	}
}

// dsqID is the dsq:id attribute that names a thread or post.
func dsqID(attrs []xml.Attr) string {
	f := xmlField{attrs: attrs}
	return strings.TrimSpace(f.attr("id"))
}

// readThread reads the <thread> that next just returned.
func (d *disqusDecoder) readThread() (disqusThread, error) {
	var identifier, link, forum, deleted string
	var long bool
	err := d.fields(func(f *xmlField) {
		switch f.path {
		case "isDeleted":
			deleted = f.text
		case "id":
			identifier, long = strings.TrimSpace(f.text), long || f.long
		case "link":
			link, long = strings.TrimSpace(f.text), long || f.long
		case "forum":
			forum = strings.TrimSpace(f.text)
		}
	})
	var t disqusThread
	t.deleted, _ = disqusBool("isDeleted", deleted)
	if len(forum) <= maxKept {
		t.forum = forum
	}
	post, perr := postKey(d.opts.PostKey, link, identifier)
	switch {
	case long:
		t.problem = fmt.Sprintf("its thread's link or id is longer than %d MiB", maxField>>20)
	case perr != nil:
		t.problem = perr.Error()
	case len(post) > maxPostKey:
		t.problem = fmt.Sprintf("its page's key is longer than %d bytes", maxPostKey)
	default:
		t.post = post
	}
	return t, err
}

// maxPostKey is the longest post key Parley takes.
const maxPostKey = 512

// readPost reads the <post> that next just returned into p.
func (d *disqusDecoder) readPost(p *disqusPost) error {
	fields := map[string]*string{
		"id": &p.OwnID, "message": &p.Message, "createdAt": &p.CreatedAt, "isDeleted": &p.IsDeleted, "isSpam": &p.IsSpam,
		"author/name": &p.Name, "author/email": &p.Email, "author/username": &p.Username, "ipAddress": &p.IP,
	}
	return d.fields(func(f *xmlField) {
		if f.long && p.long == "" {
			p.long = f.path
		}
		if field, ok := fields[f.path]; ok {
			*field = f.text
			return
		}
		switch f.path {
		case "thread":
			p.Thread = strings.TrimSpace(f.attr("id"))
		case "parent":
			p.Parent = strings.TrimSpace(f.attr("id"))
		}
	})
}

// end says why a file that yielded no comment did not, or reports io.EOF.
func (d *disqusDecoder) end() error {
	switch {
	case !d.root:
		return &FileError{Err: fmt.Errorf("this is not a Disqus export: it has no <disqus> element")}
	case d.n > 0:
		return io.EOF
	}
	return &NoCommentsError{Reason: fmt.Sprintf("it has %d threads but no <post>", len(d.threads))}
}

func (d *disqusDecoder) record(p *disqusPost, line int) *moderation.ImportRecord {
	rec := &moderation.ImportRecord{Number: d.n, Line: line}
	if p.ID == "" {
		p.ID = strings.TrimSpace(p.OwnID) // a post without dsq:id: its own id names it
	}
	f := &moderation.Foreign{
		Source: string(Disqus), ID: p.ID,
		Author: strings.TrimSpace(p.Name), Email: strings.TrimSpace(p.Email),
		IP: p.IP, HTML: p.Message, Status: moderation.StatusApproved, ParentID: p.Parent,
	}
	if f.Author == "" {
		f.Author = strings.TrimSpace(p.Username)
	}
	rec.Foreign = f
	spam, err := disqusBool("isSpam", p.IsSpam)
	if err != nil {
		rec.Problem = err.Error()
		return rec
	}
	deleted, err := disqusBool("isDeleted", p.IsDeleted)
	switch {
	case err != nil:
		rec.Problem = err.Error()
		return rec
	case spam:
		f.Status, f.Note = moderation.StatusSpam, "marked as spam in Disqus"
	case deleted:
		f.Status, f.Note = moderation.StatusDeleted, "deleted in Disqus"
	}
	if rec.Problem = d.problem(p.long); rec.Problem != "" {
		return rec
	}
	if f.Created, err = parseTime(p.CreatedAt); err != nil {
		rec.Problem = "createdAt: " + err.Error()
		return rec
	}
	thread, ok := d.threads[p.Thread]
	switch {
	case !ok:
		rec.Problem = fmt.Sprintf("its thread %q is not in the file", p.Thread)
		return rec
	case thread.problem != "":
		rec.Problem = thread.problem
		return rec
	}
	f.Site, f.Post = thread.forum, thread.post
	if thread.deleted && f.Status == moderation.StatusApproved {
		// The page's discussion was taken down: kept, but not shown.
		f.Status, f.Note = moderation.StatusRejected, "its thread was deleted in Disqus"
	}
	return rec
}

// disqusBool reads a Disqus flag: true or false (empty is false).
func disqusBool(name, s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, fmt.Errorf("%s: %s is not true or false", name, strconv.Quote(strings.TrimSpace(s)))
}
