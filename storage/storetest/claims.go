package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"parley/moderation"
)

// spamIfTaken files a comment whose claim is held as spam, as the service's
// duplicate check does.
func spamIfTaken(reason string) func(c *moderation.Comment) error {
	return func(c *moderation.Comment) error {
		if c.Status == moderation.StatusSpam {
			return nil
		}
		c.Status = moderation.StatusSpam
		c.History = []moderation.Change{{Status: moderation.StatusSpam, At: c.Created, By: "system", Reason: reason}}
		return nil
	}
}

func testClaims(t *testing.T, open Opener) {
	t.Run("a held claim calls Taken", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		errSpent := errors.New("this form was already sent")
		token := func(taken func(*moderation.Comment) error) moderation.Claim {
			return moderation.Claim{Key: "form:abc", Until: at(100), Taken: taken}
		}
		body := func(taken func(*moderation.Comment) error) moderation.Claim {
			return moderation.Claim{Key: "body:123", Until: at(60), Taken: taken}
		}
		never := func(c *moderation.Comment) error {
			t.Errorf("Taken called for %s, whose claims are free", c.ID)
			return nil
		}
		first := comment(def, "/p", at(1))
		if err := s.CreateCommentClaiming(ctx, first, []moderation.Claim{token(never), body(never)}, noParent); err != nil {
			t.Fatal(err)
		}
		before := outboxChanges(t, s)

		// The form token is spent: the second use is refused whole.
		again := comment(def, "/p", at(2))
		calls := 0
		err := s.CreateCommentClaiming(ctx, again, []moderation.Claim{token(func(c *moderation.Comment) error {
			calls++
			if c.ID != again.ID {
				t.Errorf("Taken got %s, want the comment being created", c.ID)
			}
			return errSpent
		}), {Key: "form:other", Until: at(100), Taken: never}}, noParent)
		// A store may try a transaction again (bbolt's batches do), and call
		// Taken once a try.
		if err != errSpent || calls == 0 {
			t.Errorf("a spent token: %v after %d calls to Taken, want Taken's error as is", err, calls)
		}
		_, err = s.Comment(ctx, def, again.ID)
		wantErr(t, err, moderation.ErrNotFound, "a comment whose claim was refused")
		if n := outboxChanges(t, s); n != before {
			t.Errorf("a refused comment wrote a transition")
		}
		// Its other claim was not recorded either: a later comment takes it freely.
		if err := s.CreateCommentClaiming(ctx, comment(def, "/p", at(3)), []moderation.Claim{{Key: "form:other", Until: at(100), Taken: never}}, noParent); err != nil {
			t.Fatal(err)
		}

		// The same body within the window is filed as spam, not refused.
		dup := comment(def, "/p", at(4))
		if err := s.CreateCommentClaiming(ctx, dup, []moderation.Claim{body(spamIfTaken("duplicate"))}, noParent); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, def, dup.ID); got.Status != moderation.StatusSpam || len(got.History) != 1 || got.History[0].Reason != "duplicate" {
			t.Errorf("a duplicate body: %+v", got)
		}
		// Once the claim's time has passed, it is free again.
		late := comment(def, "/p", at(61))
		if err := s.CreateCommentClaiming(ctx, late, []moderation.Claim{body(never)}, noParent); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, def, late.ID); got.Status != moderation.StatusPending {
			t.Errorf("a body after its window: %s", got.Status)
		}

		// A claiming reply goes through attach like any reply.
		r := replyTo(first, at(62))
		if err := s.CreateCommentClaiming(ctx, r, []moderation.Claim{{Key: "form:r", Until: at(100), Taken: never}}, attachTo(r)); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, def, r.ID); got.Depth != 1 || got.Parent != first.ID {
			t.Errorf("a claiming reply: %+v", got)
		}
	})

	t.Run("purge", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		for i, until := range []time.Time{at(100), at(200), at(300)} {
			c := comment(def, "/p", at(i))
			if err := s.CreateCommentClaiming(ctx, c, []moderation.Claim{{Key: "k" + string(rune('a'+i)), Until: until}}, noParent); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.PurgeClaims(ctx, at(250))
		if err != nil || n != 2 {
			t.Errorf("purge at 250: %d, %v; want the 2 claims held until before then", n, err)
		}
		if n, _ := s.PurgeClaims(ctx, at(250)); n != 0 {
			t.Errorf("a second purge forgot %d more", n)
		}
		// A comment dated inside ka's old window no longer finds it.
		c := comment(def, "/p", at(50))
		taken := false
		err = s.CreateCommentClaiming(ctx, c, []moderation.Claim{{Key: "ka", Until: at(400), Taken: func(*moderation.Comment) error {
			taken = true
			return nil
		}}}, noParent)
		if err != nil || taken {
			t.Errorf("a purged claim: taken %v, %v", taken, err)
		}
		// kc is still held.
		c = comment(def, "/p", at(260))
		err = s.CreateCommentClaiming(ctx, c, []moderation.Claim{{Key: "kc", Until: at(400), Taken: spamIfTaken("dup")}}, noParent)
		if got := get(t, s, def, c.ID); err != nil || got.Status != moderation.StatusSpam {
			t.Errorf("a claim the purge kept: %s, %v", got.Status, err)
		}
	})

	t.Run("concurrent claims of one key", func(t *testing.T) {
		s := open(t)
		const n = 8
		refused := errors.New("already used")
		race(t, "uses of one form token", n, func(i int) error {
			return s.CreateCommentClaiming(t.Context(), comment(def, "/p", at(i)), []moderation.Claim{{Key: "form:once", Until: at(1000),
				Taken: func(*moderation.Comment) error { return refused }}}, noParent)
		}, func(err error) bool { return err == refused })
		var wg sync.WaitGroup
		// Filed as spam instead: one pending, the rest spam, none lost.
		// Taken changes the comment; each try starts from it as given.
		for i := range n {
			wg.Go(func() {
				c := comment(def, "/q", at(i))
				err := s.CreateCommentClaiming(t.Context(), c, []moderation.Claim{{Key: "body:same", Until: at(1000),
					Taken: spamIfTaken("duplicate")}}, noParent)
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		sc, _ := s.StatusCounts(t.Context(), def)
		if sc[moderation.StatusPending] != 2 || sc[moderation.StatusSpam] != n-1 {
			t.Errorf("racing duplicates: %v, want 2 pending (one per key) and %d spam", sc, n-1)
		}
		for _, c := range list(t, s, def, moderation.StatusPending) {
			if len(c.History) != 1 || c.History[0].Status != moderation.StatusPending {
				t.Errorf("a pending comment carries another try's history: %+v", c.History)
			}
		}
	})
}
