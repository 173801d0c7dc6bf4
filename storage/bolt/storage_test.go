package bolt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/moderation"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func newComment(post string, at time.Time) *moderation.Comment {
	return &moderation.Comment{Site: moderation.DefaultSite, ID: moderation.NewID(at), Post: post, Author: "Ada", Email: "ada@example.com",
		Body: "hi", HTML: "<p>hi</p>", Status: moderation.StatusPending, Created: at, Updated: at}
}

func noParent(*moderation.Comment) error { return nil }

func setStatus(t *testing.T, db *DB, id string, s moderation.Status) {
	t.Helper()
	err := db.UpdateComments(context.Background(), moderation.DefaultSite, []string{id}, func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		c.Status = s
		return &moderation.AuditEntry{Action: string(s), Comment: id}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIndexesFollowStatus(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	a, b := newComment("/p", now), newComment("/p", now.Add(time.Second))
	for _, c := range []*moderation.Comment{a, b} {
		if err := db.CreateComment(ctx, c, noParent); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateComment(ctx, a, noParent); !errors.Is(err, moderation.ErrConflict) {
		t.Fatalf("duplicate id: got %v, want ErrConflict", err)
	}
	pending, _, err := db.Comments(ctx, moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusPending, Limit: 10})
	if err != nil || len(pending) != 2 || pending[0].ID != a.ID {
		t.Fatalf("pending = %v, %v; want a then b", pending, err)
	}
	thread, _ := db.Thread(ctx, moderation.DefaultSite, "/p")
	if len(thread) != 0 {
		t.Fatalf("thread before approval has %d comments", len(thread))
	}

	setStatus(t, db, a.ID, moderation.StatusApproved)
	thread, _ = db.Thread(ctx, moderation.DefaultSite, "/p")
	counts, _ := db.ApprovedCounts(ctx, moderation.DefaultSite, []string{"/p", "/other"})
	if len(thread) != 1 || thread[0].ID != a.ID || counts["/p"] != 1 || counts["/other"] != 0 {
		t.Fatalf("after approve: thread %v counts %v", thread, counts)
	}
	setStatus(t, db, a.ID, moderation.StatusSpam)
	counts, _ = db.ApprovedCounts(ctx, moderation.DefaultSite, []string{"/p"})
	spam, _, _ := db.Comments(ctx, moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusSpam, Limit: 10})
	if counts["/p"] != 0 || len(spam) != 1 {
		t.Fatalf("after spam: counts %v spam %d", counts, len(spam))
	}
	audit, _ := db.AuditLog(ctx, moderation.DefaultSite, 10, 0)
	if len(audit) != 2 || audit[0].Action != "spam" || audit[0].Seq != 2 {
		t.Fatalf("audit = %+v", audit)
	}
}

func TestUpdateIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	c := newComment("/p", time.Now())
	if err := db.CreateComment(ctx, c, noParent); err != nil {
		t.Fatal(err)
	}
	err := db.UpdateComments(ctx, moderation.DefaultSite, []string{c.ID, "missing"}, func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		c.Status = moderation.StatusApproved
		return &moderation.AuditEntry{}, nil
	})
	if !errors.Is(err, moderation.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	got, _ := db.Comment(ctx, moderation.DefaultSite, c.ID)
	if got.Status != moderation.StatusPending {
		t.Fatalf("status = %s: a failed bulk update wrote", got.Status)
	}
}

func TestDeleteKeepsTombstoneForReplies(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	now := time.Now()
	parent, lone := newComment("/p", now), newComment("/p", now)
	for _, c := range []*moderation.Comment{parent, lone} {
		_ = db.CreateComment(ctx, c, noParent)
		setStatus(t, db, c.ID, moderation.StatusApproved)
	}
	reply := newComment("/p", now.Add(time.Second))
	reply.Parent = parent.ID
	if err := db.CreateComment(ctx, reply, func(p *moderation.Comment) error {
		if p == nil || p.ID != parent.ID {
			t.Fatalf("attach got parent %v", p)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	setStatus(t, db, reply.ID, moderation.StatusApproved)

	tombstone := func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		c.Status, c.Author, c.Email, c.Body, c.HTML = moderation.StatusDeleted, "", "", "", ""
		return &moderation.AuditEntry{Action: "delete"}, nil
	}
	if err := db.DeleteComments(ctx, moderation.DefaultSite, []string{parent.ID, lone.ID}, tombstone); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Comment(ctx, moderation.DefaultSite, lone.ID); !errors.Is(err, moderation.ErrNotFound) {
		t.Fatalf("a comment without replies should be gone, got %v", err)
	}
	thread, _ := db.Thread(ctx, moderation.DefaultSite, "/p")
	if len(thread) != 2 || thread[0].ID != parent.ID || thread[0].Status != moderation.StatusDeleted || thread[0].Email != "" {
		t.Fatalf("thread = %+v; want the tombstone then the reply", thread)
	}
	counts, _ := db.ApprovedCounts(ctx, moderation.DefaultSite, []string{"/p"})
	if counts["/p"] != 1 {
		t.Fatalf("count = %d, want 1", counts["/p"])
	}
}

func TestCommentsPaging(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	start := time.Now()
	var ids []string
	for i := range 5 {
		post := "/a"
		if i%2 == 1 {
			post = "/b"
		}
		c := newComment(post, start.Add(time.Duration(i)*time.Millisecond))
		ids = append(ids, c.ID)
		_ = db.CreateComment(ctx, c, noParent)
	}
	page1, next, _ := db.Comments(ctx, moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusPending, Limit: 2})
	page2, next2, _ := db.Comments(ctx, moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusPending, Limit: 2, Cursor: next})
	page3, next3, _ := db.Comments(ctx, moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusPending, Limit: 2, Cursor: next2})
	var got []string
	for _, p := range [][]*moderation.Comment{page1, page2, page3} {
		for _, c := range p {
			got = append(got, c.ID)
		}
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") || next3 != "" {
		t.Fatalf("pages = %v (next %q), want %v", got, next3, ids)
	}
	onlyA, _, _ := db.Comments(ctx, moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusPending, Post: "/a", Limit: 10})
	if len(onlyA) != 3 {
		t.Fatalf("post filter: %d comments, want 3", len(onlyA))
	}
}

func TestOpenRefusesHeldFile(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("got %v, want an in-use error", err)
	}
	if waited := time.Since(start); waited > OpenTimeout+2*time.Second {
		t.Fatalf("waited %s", waited)
	}
}

func TestOpenRefusesCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "corrupt.db")
	garbage := []byte(strings.Repeat("not a bbolt file ", 1024))
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("got %v, want a corrupt-file error", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(garbage) {
		t.Fatal("Open changed a file it could not read")
	}
}

func TestSecretIsStable(t *testing.T) {
	db, path := openTemp(t)
	a, err := db.Secret(context.Background(), "x", 32)
	if err != nil || len(a) != 32 {
		t.Fatalf("secret %x, %v", a, err)
	}
	_ = db.Close()
	db2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	b, _ := db2.Secret(context.Background(), "x", 32)
	if string(a) != string(b) {
		t.Fatal("secret changed across reopen")
	}
}
