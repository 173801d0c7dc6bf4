package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/moderation"
)

// t0 is when the suite's world starts; every time is explicit.
var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// at is n seconds after t0.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

const def = moderation.DefaultSite

// comment returns a pending comment on site's post as a submission makes it,
// with every private field filled, so that leaks show.
func comment(site, post string, created time.Time) *moderation.Comment {
	return &moderation.Comment{
		ID: moderation.NewID(created), Site: site, Post: post,
		Author: "Ada Lovelace", Email: "ada@example.com", Website: "https://ada.example",
		Body: "Notes on the **engine**", HTML: "<p>Notes on the <strong>engine</strong></p>",
		Status: moderation.StatusPending, Created: created, Updated: created,
		IPHash: "9f86d081884c7d659a2feaa0c55ad015", UserAgent: "Mozilla/5.0 (storetest)",
		History: []moderation.Change{{Status: moderation.StatusPending, At: created, By: "system", Reason: "new"}},
	}
}

// noParent is the attach of a top-level comment: never called.
func noParent(*moderation.Comment) error {
	return errors.New("attach called for a comment without a parent")
}

// attachTo is the attach of a reply: it places c one level under its parent.
func attachTo(c *moderation.Comment) func(parent *moderation.Comment) error {
	return func(parent *moderation.Comment) error {
		if parent == nil {
			return &moderation.ValidationError{Fields: map[string]string{"parent": moderation.ErrNotFound.Message}}
		}
		if parent.Post != c.Post {
			return &moderation.ValidationError{Fields: map[string]string{"parent": "is on another post"}}
		}
		c.Depth = parent.Depth + 1
		return nil
	}
}

// create stores c, a top-level comment or a reply.
func create(t *testing.T, s moderation.Store, c *moderation.Comment) *moderation.Comment {
	t.Helper()
	attach := noParent
	if c.Parent != "" {
		attach = attachTo(c)
	}
	if err := s.CreateComment(t.Context(), c, attach); err != nil {
		t.Fatalf("create comment %s on %s%s: %v", c.ID, c.Site, c.Post, err)
	}
	return c
}

// replyTo returns a pending reply to parent.
func replyTo(parent *moderation.Comment, created time.Time) *moderation.Comment {
	c := comment(parent.Site, parent.Post, created)
	c.Parent = parent.ID
	c.Author, c.Email = "Charles Babbage", "charles@example.com"
	return c
}

// moveTo is a change that moves a comment to status as a moderator does,
// with its audit entry.
func moveTo(to moderation.Status, when time.Time) func(c *moderation.Comment) (*moderation.AuditEntry, error) {
	return func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		if c.Status == to {
			return nil, nil
		}
		c.Status, c.Updated = to, when
		c.History = append(c.History, moderation.Change{Status: to, At: when, By: "ada"})
		return &moderation.AuditEntry{Site: c.Site, At: when, Actor: "ada", Action: string(to), Comment: c.ID, Post: c.Post}, nil
	}
}

// move moves comments of site to status, in one transaction.
func move(t *testing.T, s moderation.Store, site string, to moderation.Status, when time.Time, ids ...string) {
	t.Helper()
	if err := s.UpdateComments(t.Context(), site, ids, moveTo(to, when)); err != nil {
		t.Fatalf("move %v of %s to %s: %v", ids, site, to, err)
	}
}

// tombstone is the change of a deletion, as the service's tombstone makes it.
func tombstone(when time.Time) func(c *moderation.Comment) (*moderation.AuditEntry, error) {
	return func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		if c.Status == moderation.StatusDeleted {
			return nil, nil
		}
		c.Status, c.Updated = moderation.StatusDeleted, when
		c.History = append(c.History, moderation.Change{Status: moderation.StatusDeleted, At: when, By: "ada"})
		c.Author, c.Email, c.Website, c.Body, c.HTML, c.IPHash, c.UserAgent = "", "", "", "", "", "", ""
		c.Trained = nil
		return &moderation.AuditEntry{Site: c.Site, At: when, Actor: "ada", Action: "delete", Comment: c.ID, Post: c.Post}, nil
	}
}

// get loads one comment, which must exist.
func get(t *testing.T, s moderation.Store, site, id string) *moderation.Comment {
	t.Helper()
	c, err := s.Comment(t.Context(), site, id)
	if err != nil {
		t.Fatalf("comment %s of %s: %v", id, site, err)
	}
	return c
}

// addSite creates a site with origins.
func addSite(t *testing.T, s moderation.Store, id string, origins ...string) *moderation.Site {
	t.Helper()
	if origins == nil {
		origins = []string{}
	}
	site := &moderation.Site{ID: id, Name: "Site " + id, Origins: origins, Created: t0}
	entry := &moderation.AuditEntry{At: t0, Actor: "ada", Action: "site.add", Detail: id}
	if err := s.PutSite(t.Context(), site, true, entry); err != nil {
		t.Fatalf("add site %s: %v", id, err)
	}
	return site
}

// ids lists the IDs of comments, in their order.
func ids(cs []*moderation.Comment) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// list is every comment of one status on site, oldest first.
func list(t *testing.T, s moderation.Store, site string, status moderation.Status) []*moderation.Comment {
	t.Helper()
	cs, next, err := s.Comments(t.Context(), moderation.Query{Site: site, Status: status, Limit: 1000})
	if err != nil || next != "" {
		t.Fatalf("list %s of %s: next %q, %v", status, site, next, err)
	}
	return cs
}

// wantErr fails unless err is the coded error target, message included:
// errors.Is matches *moderation.Error by code alone, and ErrOriginTaken,
// ErrSiteInUse and ErrConflict share theirs.
func wantErr(t *testing.T, err error, target *moderation.Error, what string, args ...any) {
	t.Helper()
	var e *moderation.Error
	if !errors.As(err, &e) || e.Code != target.Code || e.Message != target.Message {
		t.Errorf("%s: got error %v, want %q (%s)", fmt.Sprintf(what, args...), err, target.Message, target.Code)
	}
}

// same reports whether two ID lists are equal, for messages.
func same(got, want []string) bool { return strings.Join(got, ",") == strings.Join(want, ",") }

// audit is a site's whole audit log, newest first.
func audit(t *testing.T, s moderation.Store, site string) []moderation.AuditEntry {
	t.Helper()
	es, err := s.AuditLog(t.Context(), site, 1000, 0)
	if err != nil {
		t.Fatalf("audit log of %q: %v", site, err)
	}
	return es
}

// counts is the approved count of each post.
func counts(t *testing.T, s moderation.Store, site string, posts ...string) map[string]int {
	t.Helper()
	m, err := s.ApprovedCounts(t.Context(), site, posts)
	if err != nil {
		t.Fatalf("approved counts of %s: %v", site, err)
	}
	return m
}

// thread is a post's public thread.
func thread(t *testing.T, s moderation.Store, site, post string) []*moderation.Comment {
	t.Helper()
	cs, err := s.Thread(t.Context(), site, post)
	if err != nil {
		t.Fatalf("thread %s%s: %v", site, post, err)
	}
	return cs
}

// sameComment reports whether a store gave back c as it was written: every
// field that is stored, times compared as instants (a database may answer
// in another zone or drop the monotonic reading).
func sameComment(got, want *moderation.Comment) bool {
	norm := func(c *moderation.Comment) moderation.Comment {
		x := *c
		x.Trained, x.Score = nil, nil
		x.Created, x.Updated = x.Created.UTC(), x.Updated.UTC()
		x.History = make([]moderation.Change, len(c.History))
		for i, h := range c.History {
			h.At = h.At.UTC()
			x.History[i] = h
		}
		return x
	}
	return reflect.DeepEqual(norm(got), norm(want))
}

// outboxChanges counts the transitions not yet planned.
func outboxChanges(t *testing.T, s moderation.Store) int {
	t.Helper()
	depth, err := s.OutboxDepth(t.Context())
	if err != nil {
		t.Fatalf("outbox depth: %v", err)
	}
	return depth["changes"]
}

// race runs try from n goroutines at once and wants exactly one to win:
// every other must lose with an error that lost accepts.
func race(t *testing.T, what string, n int, try func(i int) error, lost func(error) bool) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lose := 0, 0
	for i := range n {
		wg.Go(func() {
			err := try(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case lost(err):
				lose++
			default:
				t.Errorf("%s: %v", what, err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lose != n-1 {
		t.Errorf("%d racing %s: %d won, %d lost; want exactly one winner", n, what, won, lose)
	}
}

// isConflict is the loss of a race for something that exists once.
func isConflict(err error) bool { return errors.Is(err, moderation.ErrConflict) }
