package storetest

import (
	"reflect"
	"testing"

	"parley/moderation"
)

func testThread(t *testing.T, open Opener) {
	t.Run("only what readers may see", func(t *testing.T) {
		s := open(t)
		root := comment(def, "/p", at(5))
		root.NotifyPublished, root.NotifyReplies = true, true
		create(t, s, root)
		early := create(t, s, comment(def, "/p", at(1))) // created later, older by time
		site := replyTo(root, at(6))
		site.BySite, site.Author, site.Email, site.IPHash, site.UserAgent = true, "ada", "", "", ""
		create(t, s, site)
		pending := create(t, s, comment(def, "/p", at(7)))
		other := create(t, s, comment(def, "/other", at(8)))
		move(t, s, def, moderation.StatusApproved, at(9), root.ID, early.ID, site.ID, other.ID)

		th := thread(t, s, def, "/p")
		if !same(ids(th), []string{early.ID, root.ID, site.ID}) {
			t.Fatalf("thread = %v, want the approved comments of /p oldest first", ids(th))
		}
		for _, c := range th {
			full := get(t, s, def, c.ID)
			if got, want := c.Public(), full.Public(); !reflect.DeepEqual(got, want) {
				t.Errorf("public view of %s:\n got %+v\nwant %+v", c.ID, got, want)
			}
			if c.Post != full.Post || c.Status != full.Status || c.Depth != full.Depth || c.Site != def {
				t.Errorf("%s: post, status, depth or site lost: %+v", c.ID, c)
			}
			if c.Email != "" || c.Body != "" || c.IPHash != "" || c.UserAgent != "" || len(c.History) != 0 || c.Trained != nil {
				t.Errorf("%s: the public thread holds private fields: %+v", c.ID, c)
			}
		}
		if th[2].Depth != 1 || th[2].Parent != root.ID || !th[2].BySite {
			t.Errorf("the site's reply: %+v", th[2])
		}
		_ = pending
		if th := thread(t, s, def, "/nothing"); len(th) != 0 {
			t.Errorf("an unknown post: %v", ids(th))
		}
	})

	t.Run("tombstones", func(t *testing.T) {
		s := open(t)
		root := create(t, s, comment(def, "/p", at(1)))
		mid := create(t, s, replyTo(root, at(2)))
		leaf := create(t, s, replyTo(mid, at(3)))
		lone := create(t, s, comment(def, "/p", at(4)))
		quiet := create(t, s, comment(def, "/p", at(5)))
		waiting := create(t, s, replyTo(quiet, at(6))) // stays pending
		move(t, s, def, moderation.StatusApproved, at(7), root.ID, mid.ID, leaf.ID, lone.ID, quiet.ID)
		if n := counts(t, s, def, "/p")["/p"]; n != 5 {
			t.Fatalf("count before deleting: %d", n)
		}

		if err := s.DeleteComments(t.Context(), def, []string{root.ID, mid.ID, lone.ID, quiet.ID}, tombstone(at(8))); err != nil {
			t.Fatal(err)
		}
		// lone had no replies: gone. The others stay as tombstones.
		_, err := s.Comment(t.Context(), def, lone.ID)
		wantErr(t, err, moderation.ErrNotFound, "a deleted comment without replies")
		for _, id := range []string{root.ID, mid.ID, quiet.ID} {
			c := get(t, s, def, id)
			if c.Status != moderation.StatusDeleted || c.Email != "" || c.Body != "" || c.Author != "" || c.IPHash != "" {
				t.Errorf("tombstone %s: %+v", id, c)
			}
		}
		// The thread keeps the chain the approved leaf hangs from; quiet's
		// only reply is pending, so its tombstone has nothing to hold up.
		th := thread(t, s, def, "/p")
		if !same(ids(th), []string{root.ID, mid.ID, leaf.ID}) {
			t.Fatalf("thread = %v, want root and mid as tombstones, then leaf", ids(th))
		}
		for _, c := range th[:2] {
			if c.Status != moderation.StatusDeleted || !c.Public().Deleted || c.HTML != "" || c.Author != "" {
				t.Errorf("tombstone in the thread: %+v", c)
			}
		}
		if n := counts(t, s, def, "/p")["/p"]; n != 1 {
			t.Errorf("approved count after deleting: %d, want 1 (leaf)", n)
		}
		sc, _ := s.StatusCounts(t.Context(), def)
		if sc[moderation.StatusApproved] != 1 || sc[moderation.StatusPending] != 1 {
			t.Errorf("status counts: %v", sc)
		}
		for _, status := range moderation.Statuses {
			for _, c := range list(t, s, def, status) {
				if c.Status == moderation.StatusDeleted {
					t.Errorf("a tombstone is listed as %s", status)
				}
			}
		}
		// Deleting a tombstone again changes nothing.
		if err := s.DeleteComments(t.Context(), def, []string{root.ID}, tombstone(at(9))); err != nil {
			t.Fatal(err)
		}
		if c := get(t, s, def, root.ID); c.Status != moderation.StatusDeleted || !c.Updated.Equal(at(8)) {
			t.Errorf("a tombstone deleted twice: %+v", c)
		}
		// Once the leaf goes, nothing approved hangs from the chain.
		if err := s.DeleteComments(t.Context(), def, []string{leaf.ID, waiting.ID}, tombstone(at(10))); err != nil {
			t.Fatal(err)
		}
		if th := thread(t, s, def, "/p"); len(th) != 0 {
			t.Errorf("thread after the last reply went: %v", ids(th))
		}
		for _, id := range []string{leaf.ID, waiting.ID} {
			_, err := s.Comment(t.Context(), def, id)
			wantErr(t, err, moderation.ErrNotFound, "a deleted reply without replies")
		}
		if log := audit(t, s, def); len(log) != 5+4+2 || log[0].Action != "delete" {
			t.Errorf("audit after deletions: %d entries", len(log))
		}
	})
}
