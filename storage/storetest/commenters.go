package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"parley/moderation"
)

func testCommenters(t *testing.T, open Opener) {
	t.Run("records and deliveries", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		c, err := s.Commenter(ctx, "nobody@example.com")
		if err != nil || *c != (moderation.Commenter{}) {
			t.Errorf("an unknown address: %+v, %v; want a zero record", c, err)
		}
		verify := &moderation.Delivery{Kind: moderation.DeliverVerify, To: "Ada@Example.com", Created: at(1), Due: at(1)}
		err = s.UpdateCommenter(ctx, "Ada@Example.com ", func(c *moderation.Commenter) ([]*moderation.Delivery, error) {
			c.VerifyRequested = at(1)
			return []*moderation.Delivery{verify}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Addresses are one whatever their case and spacing (EmailKey).
		if c, _ := s.Commenter(ctx, "ada@example.com"); !c.VerifyRequested.Equal(at(1)) {
			t.Errorf("ada's record: %+v", c)
		}
		due, _ := s.DueDeliveries(ctx, at(1))
		if len(due) != 1 || due[0].Kind != moderation.DeliverVerify || due[0].To != verify.To || due[0].Seq != verify.Seq {
			t.Errorf("the verification queued with the record: %+v", due)
		}

		refused := errors.New("too soon")
		err = s.UpdateCommenter(ctx, "ada@example.com", func(c *moderation.Commenter) ([]*moderation.Delivery, error) {
			if !c.VerifyRequested.Equal(at(1)) {
				t.Errorf("fn got %+v", c)
			}
			c.Verified = at(2)
			return []*moderation.Delivery{{Kind: moderation.DeliverVerify, To: "ada@example.com", Created: at(2), Due: at(2)}}, refused
		})
		if err != refused {
			t.Errorf("a failing fn: %v, want its error as is", err)
		}
		if c, _ := s.Commenter(ctx, "ada@example.com"); !c.Verified.IsZero() {
			t.Errorf("a failed update was saved: %+v", c)
		}
		if depth, _ := s.OutboxDepth(ctx); depth["pending"] != 1 {
			t.Errorf("a failed update queued its delivery: %v", depth)
		}
		err = s.UpdateCommenter(ctx, "ada@example.com", func(c *moderation.Commenter) ([]*moderation.Delivery, error) {
			c.Verified, c.Unsubscribed = at(3), at(4)
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Commenter(ctx, "ADA@example.com"); !c.Verified.Equal(at(3)) || !c.Unsubscribed.Equal(at(4)) || !c.VerifyRequested.Equal(at(1)) {
			t.Errorf("ada after verifying: %+v", c)
		}
	})

	t.Run("approved comments are counted", func(t *testing.T) {
		s := open(t)
		addSite(t, s, "b")
		var mine []string
		for i := range 3 {
			c := comment(def, "/p", at(i))
			c.Email = "Ada@Example.com"
			mine = append(mine, create(t, s, c).ID)
		}
		other := create(t, s, comment("b", "/p", at(5))) // ada@example.com, on site b
		anon := comment(def, "/p", at(6))
		anon.Email = ""
		create(t, s, anon)
		approved := func(want int, when string) {
			t.Helper()
			if c, _ := s.Commenter(t.Context(), "ada@example.com"); c.Approved != want {
				t.Errorf("%s: ada has %d approved, want %d", when, c.Approved, want)
			}
		}
		approved(0, "before any approval")
		move(t, s, def, moderation.StatusApproved, at(10), mine...)
		move(t, s, def, moderation.StatusApproved, at(10), anon.ID)
		move(t, s, "b", moderation.StatusApproved, at(10), other.ID)
		approved(4, "after approving on both sites") // one address, every site
		move(t, s, def, moderation.StatusSpam, at(11), mine[0])
		approved(3, "after one became spam")
		if err := s.DeleteComments(t.Context(), def, []string{mine[1]}, tombstone(at(12))); err != nil {
			t.Fatal(err)
		}
		approved(2, "after one was deleted")
		err := s.UpdateComments(t.Context(), def, []string{mine[2], moderation.NewID(at(0))}, moveTo(moderation.StatusRejected, at(13)))
		wantErr(t, err, moderation.ErrNotFound, "a failed update")
		approved(2, "after a failed update")
	})

	t.Run("single-use links", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		if used, err := s.LinkUsed(ctx, "n1"); err != nil || used {
			t.Fatalf("a fresh link: %v, %v", used, err)
		}
		if err := s.UseLink(ctx, "n1", at(100)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.UseLink(ctx, "n1", at(100)), moderation.ErrConflict, "using a link twice")
		if used, _ := s.LinkUsed(ctx, "n1"); !used {
			t.Error("a used link is not recorded")
		}
		if err := s.UseLink(ctx, "n2", at(200)); err != nil {
			t.Fatal(err)
		}
		// Expired records may be forgotten, live ones never.
		if err := s.PruneOutbox(ctx, at(0), at(150)); err != nil {
			t.Fatal(err)
		}
		if used, _ := s.LinkUsed(ctx, "n2"); !used {
			t.Error("pruning forgot a link that has not expired")
		}
		if used, _ := s.LinkUsed(ctx, "n1"); used {
			t.Error("pruning kept a link that expired")
		}

		race(t, "uses of one link", 8, func(int) error { return s.UseLink(ctx, "raced", at(100)) }, isConflict)
	})

	t.Run("update moderator", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		if err := s.CreateModerator(ctx, moderator("ada", moderation.RoleOwner)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.UpdateModerator(ctx, "nosuch", func(*moderation.Moderator) error { return nil }), moderation.ErrNotFound, "an unknown moderator")
		prefs := moderation.NotifyPrefs{Email: "ada@example.com", EmailMode: moderation.EmailImmediate}
		if err := s.UpdateModerator(ctx, "Ada", func(m *moderation.Moderator) error {
			m.Notify = prefs
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		refused := errors.New("not an address")
		if err := s.UpdateModerator(ctx, "ada", func(m *moderation.Moderator) error {
			m.Notify.Email = "x"
			return refused
		}); err != refused {
			t.Errorf("a failing fn: %v, want its error as is", err)
		}
		if m, _ := s.Moderator(ctx, "ada"); m.Notify != prefs || m.Role != moderation.RoleOwner {
			t.Errorf("ada after the updates: %+v", m)
		}
		// Changes at once lose nothing.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				err := s.UpdateModerator(ctx, "ada", func(m *moderation.Moderator) error {
					if m.Sites == nil {
						m.Sites = map[string]moderation.SiteRole{}
					}
					m.Sites[fmt.Sprintf("s%d", i)] = moderation.SiteModerator
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if m, _ := s.Moderator(ctx, "ada"); len(m.Sites) != 8 {
			t.Errorf("8 concurrent updates left %v", m.Sites)
		}
		if ms, _ := s.Moderators(ctx); len(ms) != 1 {
			t.Errorf("updating by a folded name made a second moderator: %d", len(ms))
		}
	})
}
