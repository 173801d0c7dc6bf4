package migrate

import (
	"fmt"
	"io"
	"strings"

	"parley/moderation"
)

// disqusRef is an element that names a thread or post by its Disqus id.
type disqusRef struct {
	ID string `xml:"http://disqus.com/disqus-internals id,attr"`
}

// disqusThread is a <thread>: a page that has comments.
type disqusThread struct {
	disqusRef
	Identifier string `xml:"id"` // the disqus_identifier the site gave, often empty
	Forum      string `xml:"forum"`
	Link       string `xml:"link"`
}

// disqusPost is a <post>: one comment.
type disqusPost struct {
	disqusRef
	Message   string `xml:"message"`
	CreatedAt string `xml:"createdAt"`
	IsDeleted bool   `xml:"isDeleted"`
	IsSpam    bool   `xml:"isSpam"`
	Author    struct {
		Name     string `xml:"name"`
		Email    string `xml:"email"`
		Username string `xml:"username"`
	} `xml:"author"`
	IP     string     `xml:"ipAddress"`
	Thread disqusRef  `xml:"thread"`
	Parent *disqusRef `xml:"parent"`
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
	return &disqusDecoder{xmlReader: newXMLReader(r), opts: opts, threads: map[string]disqusThread{}}
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
			var t disqusThread
			if err := d.decode(&t, &start); err != nil {
				return nil, err
			}
			d.threads[t.ID] = t
		case d.depth == 2 && start.Name.Local == "post":
			line := d.line()
			var p disqusPost
			if err := d.decode(&p, &start); err != nil {
				return nil, err
			}
			d.n++
			return d.record(&p, line), nil
		}
	}
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
	f := &moderation.Foreign{
		Source: string(Disqus), ID: strings.TrimSpace(p.ID),
		Author: strings.TrimSpace(p.Author.Name), Email: strings.TrimSpace(p.Author.Email),
		IP: p.IP, HTML: p.Message, Status: moderation.StatusApproved,
	}
	if f.Author == "" {
		f.Author = strings.TrimSpace(p.Author.Username)
	}
	if p.Parent != nil {
		f.ParentID = strings.TrimSpace(p.Parent.ID)
	}
	rec.Foreign = f
	switch {
	case p.IsSpam:
		f.Status, f.Note = moderation.StatusSpam, "marked as spam in Disqus"
	case p.IsDeleted:
		f.Status, f.Note = moderation.StatusDeleted, "deleted in Disqus"
	}
	var err error
	if f.Created, err = parseTime(p.CreatedAt); err != nil {
		rec.Problem = "createdAt: " + err.Error()
		return rec
	}
	thread, ok := d.threads[strings.TrimSpace(p.Thread.ID)]
	if !ok {
		rec.Problem = fmt.Sprintf("its thread %q is not in the file", p.Thread.ID)
		return rec
	}
	f.Site = strings.TrimSpace(thread.Forum)
	if f.Post, err = postKey(d.opts.PostKey, strings.TrimSpace(thread.Link), strings.TrimSpace(thread.Identifier)); err != nil {
		rec.Problem = err.Error()
	}
	return rec
}
