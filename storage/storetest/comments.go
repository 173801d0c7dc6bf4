package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"parley/moderation"
)

func testComments(t *testing.T, open Opener) {
	t.Run("create and read", func(t *testing.T) {
		s := open(t)
		c := comment(def, "/p", at(1))
		c.NotifyPublished, c.NotifyReplies, c.BySite = true, true, false
		want := *c
		create(t, s, c)
		if got := get(t, s, def, c.ID); !sameComment(got, &want) {
			t.Errorf("read back\n got %+v\nwant %+v", got, &want)
		}
		dup := comment(def, "/other", at(2))
		dup.ID = c.ID
		wantErr(t, s.CreateComment(t.Context(), dup, noParent), moderation.ErrConflict, "a second comment with the same ID")
		if got := get(t, s, def, c.ID); got.Post != "/p" {
			t.Errorf("a refused duplicate overwrote the comment: %+v", got)
		}
		_, err := s.Comment(t.Context(), def, moderation.NewID(at(3)))
		wantErr(t, err, moderation.ErrNotFound, "an unknown comment")
		if got := list(t, s, def, moderation.StatusPending); !same(ids(got), []string{c.ID}) {
			t.Errorf("pending = %v", ids(got))
		}
	})

	t.Run("replies", func(t *testing.T) {
		s := open(t)
		root := create(t, s, comment(def, "/p", at(1)))
		r := replyTo(root, at(2))
		var saw *moderation.Comment
		err := s.CreateComment(t.Context(), r, func(p *moderation.Comment) error {
			saw = p
			return attachTo(r)(p)
		})
		if err != nil {
			t.Fatal(err)
		}
		if saw == nil || saw.ID != root.ID || saw.Site != def || saw.Email != root.Email {
			t.Fatalf("attach got %+v, want the whole parent", saw)
		}
		if got := get(t, s, def, r.ID); got.Depth != 1 || got.Parent != root.ID {
			t.Errorf("reply stored at depth %d under %q", got.Depth, got.Parent)
		}

		// attach may re-point the reply, as a reply past MaxDepth is.
		rr := replyTo(r, at(3))
		err = s.CreateComment(t.Context(), rr, func(p *moderation.Comment) error {
			rr.Parent, rr.Depth = p.Parent, p.Depth
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, def, rr.ID); got.Parent != root.ID || got.Depth != 1 {
			t.Errorf("re-pointed reply stored under %q at depth %d", got.Parent, got.Depth)
		}
		move(t, s, def, moderation.StatusApproved, at(4), root.ID, rr.ID)
		if th := thread(t, s, def, "/p"); !same(ids(th), []string{root.ID, rr.ID}) || th[1].Parent != root.ID {
			t.Errorf("thread = %v", ids(th))
		}

		// A missing parent reaches attach as nil; its error comes back as is.
		orphan := comment(def, "/p", at(5))
		orphan.Parent = moderation.NewID(at(0))
		err = s.CreateComment(t.Context(), orphan, attachTo(orphan))
		var ve *moderation.ValidationError
		if !errors.As(err, &ve) || ve.Fields["parent"] == "" {
			t.Errorf("a reply to a missing comment: %v, want attach's ValidationError", err)
		}
		refused := errors.New("replies are closed")
		late := replyTo(root, at(6))
		if err := s.CreateComment(t.Context(), late, func(*moderation.Comment) error { return refused }); err != refused {
			t.Errorf("attach refusing: got %v, want its error as is", err)
		}
		for _, id := range []string{orphan.ID, late.ID} {
			_, err := s.Comment(t.Context(), def, id)
			wantErr(t, err, moderation.ErrNotFound, "a refused reply")
		}
		if n := len(list(t, s, def, moderation.StatusPending)); n != 1 {
			t.Errorf("%d pending after refusals, want only r", n)
		}
	})

	t.Run("status moves and counts", func(t *testing.T) {
		s := open(t)
		var as, bs []string
		for i := range 6 {
			as = append(as, create(t, s, comment(def, "/a", at(2*i))).ID)
			bs = append(bs, create(t, s, comment(def, "/b", at(2*i+1))).ID)
		}
		move(t, s, def, moderation.StatusApproved, at(20), as[0], as[1], as[2], bs[0])
		move(t, s, def, moderation.StatusSpam, at(21), as[3], bs[1])
		move(t, s, def, moderation.StatusRejected, at(22), bs[2])
		check := func(when string, a, b int, st map[moderation.Status]int) {
			t.Helper()
			got := counts(t, s, def, "/a", "/b", "/none")
			if got["/a"] != a || got["/b"] != b || got["/none"] != 0 || len(got) != 3 {
				t.Errorf("%s: approved counts %v, want /a %d, /b %d, /none 0", when, got, a, b)
			}
			sc, err := s.StatusCounts(t.Context(), def)
			if err != nil {
				t.Fatal(err)
			}
			for _, status := range moderation.Statuses {
				if sc[status] != st[status] {
					t.Errorf("%s: status counts %v, want %v", when, sc, st)
					break
				}
				if n := len(list(t, s, def, status)); n != st[status] {
					t.Errorf("%s: %d comments listed as %s, counted %d", when, n, status, st[status])
				}
			}
			if n := len(thread(t, s, def, "/a")); n != a {
				t.Errorf("%s: thread /a has %d comments, want %d", when, n, a)
			}
		}
		check("after the first moves", 3, 1, map[moderation.Status]int{"pending": 5, "approved": 4, "spam": 2, "rejected": 1})
		move(t, s, def, moderation.StatusSpam, at(23), as[0])            // out of approved
		move(t, s, def, moderation.StatusApproved, at(24), as[3], bs[2]) // in from spam and rejected
		move(t, s, def, moderation.StatusApproved, at(25), as[1])        // no change
		move(t, s, def, moderation.StatusPending, at(26), bs[0])         // back to the queue
		check("after moving back and forth", 3, 1, map[moderation.Status]int{"pending": 6, "approved": 4, "spam": 2, "rejected": 0})
		if got := get(t, s, def, as[0]); got.Status != moderation.StatusSpam || len(got.History) != 3 || !got.Updated.Equal(at(23)) {
			t.Errorf("a moved comment: %+v", got)
		}
		if m, err := s.ApprovedCounts(t.Context(), def, nil); err != nil || len(m) != 0 {
			t.Errorf("counts of no posts: %v, %v", m, err)
		}
		// Each real change left its entry in the site's log, newest first.
		log := audit(t, s, def)
		if len(log) != 11 || log[0].Action != "pending" || log[0].Comment != bs[0] || log[0].Site != def {
			t.Errorf("audit = %+v", log)
		}
	})

	t.Run("update is all or nothing", func(t *testing.T) {
		s := open(t)
		var cs []string
		for i := range 4 {
			cs = append(cs, create(t, s, comment(def, "/p", at(i))).ID)
		}
		depth := outboxChanges(t, s)
		unchanged := func(when string) {
			t.Helper()
			for _, id := range cs {
				if c := get(t, s, def, id); c.Status != moderation.StatusPending || len(c.History) != 1 {
					t.Errorf("%s: comment %s was written: %+v", when, id, c)
				}
			}
			if n := counts(t, s, def, "/p")["/p"]; n != 0 {
				t.Errorf("%s: /p counts %d approved", when, n)
			}
			if th := thread(t, s, def, "/p"); len(th) != 0 {
				t.Errorf("%s: thread holds %v", when, ids(th))
			}
			if log := audit(t, s, def); len(log) != 0 {
				t.Errorf("%s: audit holds %+v", when, log)
			}
			if n := outboxChanges(t, s); n != depth {
				t.Errorf("%s: %d transitions recorded, want %d", when, n, depth)
			}
		}
		err := s.UpdateComments(t.Context(), def, []string{cs[0], cs[1], moderation.NewID(at(9)), cs[2]}, moveTo(moderation.StatusApproved, at(10)))
		wantErr(t, err, moderation.ErrNotFound, "an update with a missing id")
		unchanged("after a missing id")

		boom := errors.New("third comment refused")
		n := 0
		err = s.UpdateComments(t.Context(), def, cs, func(c *moderation.Comment) (*moderation.AuditEntry, error) {
			if n++; n == 3 {
				return nil, boom
			}
			return moveTo(moderation.StatusApproved, at(11))(c)
		})
		if err != boom {
			t.Errorf("a failing change: got %v, want its error as is", err)
		}
		unchanged("after a change failed on the third comment")

		err = s.DeleteComments(t.Context(), def, []string{cs[0], moderation.NewID(at(9))}, tombstone(at(12)))
		wantErr(t, err, moderation.ErrNotFound, "a deletion with a missing id")
		unchanged("after a deletion with a missing id")

		// A change that leaves a comment as it was writes nothing.
		err = s.UpdateComments(t.Context(), def, cs, func(*moderation.Comment) (*moderation.AuditEntry, error) { return nil, nil })
		if err != nil {
			t.Fatal(err)
		}
		unchanged("after a change that changed nothing")
	})

	t.Run("paging and search", func(t *testing.T) {
		s := open(t)
		var made []*moderation.Comment
		for i := range 23 {
			post := "/p"
			if i%3 == 0 {
				post = "/q"
			}
			c := comment(def, post, at(i))
			c.Author, c.Email = fmt.Sprintf("Reader %d", i), fmt.Sprintf("r%d@example.com", i)
			c.IPHash = fmt.Sprintf("%032x", i)
			switch i % 4 {
			case 1:
				c.Body = "a NeedLe in the body"
			case 2:
				c.Author = "Needle Smith"
			case 3:
				c.Website = "https://needle.example"
			}
			if i%5 == 4 {
				c.Email = "NEEDLE@example.com"
			}
			made = append(made, create(t, s, c))
		}
		// One matching comment is rejected: it is no longer pending.
		move(t, s, def, moderation.StatusRejected, at(30), made[1].ID)
		made[1].Status = moderation.StatusRejected

		want := func(q moderation.Query) []string {
			var out []string
			for _, c := range made {
				if c.Status == q.Status && (q.Post == "" || c.Post == q.Post) && q.Matches(c) {
					out = append(out, c.ID)
				}
			}
			return out
		}
		pages := func(q moderation.Query) ([]string, int) {
			t.Helper()
			var got []string
			n := 0
			for {
				page, next, err := s.Comments(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > q.Limit {
					t.Fatalf("a page of %d, limit %d", len(page), q.Limit)
				}
				n++
				for _, c := range page {
					if c.Status != q.Status || c.Site != def {
						t.Fatalf("listed %+v for %+v", c, q)
					}
					got = append(got, c.ID)
				}
				if next == "" {
					return got, n
				}
				if len(page) == 0 || next != page[len(page)-1].ID {
					t.Fatalf("next %q is not the last ID of a page of %d", next, len(page))
				}
				if n > 100 {
					t.Fatal("paging does not end")
				}
				q.Cursor = next
			}
		}
		q := moderation.Query{Site: def, Status: moderation.StatusPending, Limit: 4}
		if got, _ := pages(q); !same(got, want(q)) || len(got) != 22 {
			t.Errorf("every pending comment in pages of 4:\n got %v\nwant %v", got, want(q))
		}
		q.Search = "needle"
		got, n := pages(q)
		if w := want(q); !same(got, w) || len(w) < 9 {
			t.Errorf("search over pages:\n got %v\nwant %v", got, w)
		}
		if w := (len(got) + 3) / 4; n != w {
			t.Errorf("%d matches took %d pages of 4, want %d (a full last page ends the walk)", len(got), n, w)
		}
		q.Post = "/q"
		if got, _ := pages(q); !same(got, want(q)) {
			t.Errorf("search on /q: %v, want %v", got, want(q))
		}
		q = moderation.Query{Site: def, Status: moderation.StatusRejected, Limit: 4, Search: "NEEDLE"}
		if got, _ := pages(q); !same(got, []string{made[1].ID}) {
			t.Errorf("search among the rejected: %v", got)
		}
		// The IP hash matches only whole; case matters nowhere.
		for _, search := range []string{fmt.Sprintf("%032x", 7), fmt.Sprintf("%031x", 7), "READER 1", "r1@EXAMPLE", "nobody"} {
			q := moderation.Query{Site: def, Status: moderation.StatusPending, Limit: 100, Search: search}
			page, _, err := s.Comments(t.Context(), q)
			if err != nil || !same(ids(page), want(q)) {
				t.Errorf("search %q: %v, %v; want %v", search, ids(page), err, want(q))
			}
		}
		// A cursor that names no comment starts where it would sort.
		q = moderation.Query{Site: def, Status: moderation.StatusPending, Limit: 100, Cursor: moderation.NewID(at(10))[:10]}
		if page, _, _ := s.Comments(t.Context(), q); len(page) == 0 || page[0].Created.Before(at(10)) {
			t.Errorf("a cursor between IDs: %v", ids(page))
		}
	})

	t.Run("search sees through escaping", func(t *testing.T) {
		s := open(t)
		c := comment(def, "/p", at(1))
		c.Author, c.Email, c.IPHash = "Zoë Ünal", "zoe@example.com", "abc123"
		c.Body = "Use <b>Bold</b> & \"Quotes\"\nand a tab\there"
		create(t, s, c)
		for search, want := range map[string]bool{
			"<b>bold</b>": true, `"quotes"`: true, "bold</b> &": true, "zoË ünal": true, "ZOE@EXAMPLE": true,
			"quotes\"\nand": true, "tab\there": true, "abc123": true, "abc12": false, "bold quotes": false, "/p": false,
		} {
			got, _, err := s.Comments(t.Context(), moderation.Query{Site: def, Status: moderation.StatusPending, Limit: 10, Search: search})
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != want {
				t.Errorf("search %q: found %d, want %v", search, len(got), want)
			}
		}
	})

	t.Run("sites keep their own comments", func(t *testing.T) {
		s := open(t)
		addSite(t, s, "b")
		a := create(t, s, comment(def, "/same", at(1)))
		b := create(t, s, comment("b", "/same", at(2)))
		_, err := s.Comment(t.Context(), "b", a.ID)
		wantErr(t, err, moderation.ErrNotFound, "the default site's comment through b")
		wantErr(t, s.UpdateComments(t.Context(), "b", []string{a.ID}, moveTo(moderation.StatusApproved, at(3))),
			moderation.ErrNotFound, "moving the default site's comment through b")
		wantErr(t, s.DeleteComments(t.Context(), "b", []string{a.ID}, tombstone(at(3))),
			moderation.ErrNotFound, "deleting the default site's comment through b")
		reply := replyTo(a, at(4))
		reply.Site = "b"
		var saw *moderation.Comment
		_ = s.CreateComment(t.Context(), reply, func(p *moderation.Comment) error {
			saw = p
			return attachTo(reply)(p)
		})
		if saw != nil {
			t.Errorf("a reply on b was attached to the default site's comment")
		}
		pub := replyTo(a, at(5))
		pub.Site, pub.Status = "b", moderation.StatusApproved
		err = s.PublishReply(t.Context(), pub, func(*moderation.Comment) (*moderation.AuditEntry, error) { return nil, nil },
			&moderation.AuditEntry{At: at(5), Actor: "ada", Action: "reply"})
		wantErr(t, err, moderation.ErrNotFound, "publishing on b a reply to the default site's comment")

		move(t, s, "b", moderation.StatusApproved, at(6), b.ID)
		if th := thread(t, s, def, "/same"); len(th) != 0 {
			t.Errorf("the default site's thread holds b's comment: %v", ids(th))
		}
		if th := thread(t, s, "b", "/same"); !same(ids(th), []string{b.ID}) {
			t.Errorf("b's thread: %v", ids(th))
		}
		if n := counts(t, s, def, "/same")["/same"]; n != 0 {
			t.Errorf("the default site counts b's approval: %d", n)
		}
		if got := list(t, s, def, moderation.StatusPending); !same(ids(got), []string{a.ID}) {
			t.Errorf("the default queue: %v", ids(got))
		}
		if got := list(t, s, "b", moderation.StatusPending); len(got) != 0 {
			t.Errorf("b's queue: %v", ids(got))
		}
		if sc, _ := s.StatusCounts(t.Context(), def); sc[moderation.StatusApproved] != 0 || sc[moderation.StatusPending] != 1 {
			t.Errorf("the default site's status counts: %v", sc)
		}
		if log := audit(t, s, "b"); len(log) != 1 || log[0].Site != "b" || log[0].Comment != b.ID {
			t.Errorf("b's audit: %+v", log)
		}
		if log := audit(t, s, def); len(log) != 0 {
			t.Errorf("the default site's audit holds %+v", log)
		}
	})

	t.Run("concurrent writers", func(t *testing.T) {
		s := open(t)
		const writers, each = 8, 50
		var wg sync.WaitGroup
		created := make([][]string, writers)
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					c := comment(def, "/hot", at(w*each+i))
					c.Email = fmt.Sprintf("w%d@example.com", w)
					if err := s.CreateComment(t.Context(), c, noParent); err != nil {
						errs <- err
						return
					}
					created[w] = append(created[w], c.ID)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if sc, _ := s.StatusCounts(t.Context(), def); sc[moderation.StatusPending] != writers*each {
			t.Fatalf("status counts after %d concurrent creates: %v", writers*each, sc)
		}
		pending := list(t, s, def, moderation.StatusPending)
		if len(pending) != writers*each || !slices.IsSortedFunc(pending, func(a, b *moderation.Comment) int { return strings.Compare(a.ID, b.ID) }) {
			t.Fatalf("%d pending, want %d in ID order", len(pending), writers*each)
		}
		// Approve concurrently, ten at a time per writer.
		errs = make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := 0; i < each; i += 10 {
					if err := s.UpdateComments(t.Context(), def, created[w][i:i+10], moveTo(moderation.StatusApproved, at(1000))); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := counts(t, s, def, "/hot")["/hot"]; n != writers*each {
			t.Errorf("approved count %d, want %d", n, writers*each)
		}
		if n := len(thread(t, s, def, "/hot")); n != writers*each {
			t.Errorf("thread of %d, want %d", n, writers*each)
		}
		if c, _ := s.Commenter(t.Context(), "w3@example.com"); c.Approved != each {
			t.Errorf("w3 has %d approved comments, want %d", c.Approved, each)
		}

		// Writers that change one comment at once lose nothing.
		one := pending[0].ID
		errs = make(chan error, writers*5)
		for w := range writers {
			wg.Go(func() {
				for i := range 5 {
					errs <- s.UpdateComments(t.Context(), def, []string{one}, func(c *moderation.Comment) (*moderation.AuditEntry, error) {
						c.History = append(c.History, moderation.Change{Status: c.Status, At: at(2000), By: fmt.Sprintf("w%d.%d", w, i)})
						return &moderation.AuditEntry{At: at(2000), Actor: "ada", Action: "note", Comment: c.ID}, nil
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if c := get(t, s, def, one); len(c.History) != 2+writers*5 {
			t.Errorf("%d concurrent updates of one comment: its history has %d entries, want %d", writers*5, len(c.History), 2+writers*5)
		}

		// Many creates of one ID: exactly one wins.
		id := moderation.NewID(at(5000))
		race(t, "creates of one ID", writers, func(int) error {
			c := comment(def, "/hot", at(5000))
			c.ID = id
			return s.CreateComment(t.Context(), c, noParent)
		}, isConflict)
	})
}
