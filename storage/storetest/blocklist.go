package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"parley/moderation"
)

func testBlocklist(t *testing.T, open Opener) {
	t.Run("per site, all or nothing", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		addSite(t, s, "b")
		if bl, err := s.Blocklist(ctx, def); err != nil || len(bl.Words)+len(bl.Emails)+len(bl.Networks) != 0 {
			t.Fatalf("a new site's blocklist: %+v, %v", bl, err)
		}
		set := func(site string, b moderation.Blocklist) error {
			return s.UpdateBlocklist(ctx, site, func(stored *moderation.Blocklist) error {
				stored.Words = append(stored.Words, b.Words...)
				stored.Emails = append(stored.Emails, b.Emails...)
				stored.Networks = append(stored.Networks, b.Networks...)
				return nil
			}, &moderation.AuditEntry{At: at(1), Actor: "ada", Action: "blocklist add"})
		}
		if err := set(def, moderation.Blocklist{Words: []string{"casino"}, Emails: []string{"spam.example"}, Networks: []string{"203.0.113.0/24"}}); err != nil {
			t.Fatal(err)
		}
		if err := set(def, moderation.Blocklist{Words: []string{"free money"}}); err != nil {
			t.Fatal(err)
		}
		if err := set("b", moderation.Blocklist{Emails: []string{"bot@example.com"}}); err != nil {
			t.Fatal(err)
		}
		bl, _ := s.Blocklist(ctx, def)
		if !slices.Equal(bl.Words, []string{"casino", "free money"}) || !slices.Equal(bl.Emails, []string{"spam.example"}) || !slices.Equal(bl.Networks, []string{"203.0.113.0/24"}) {
			t.Errorf("the default site's blocklist: %+v", bl)
		}
		if bl, _ := s.Blocklist(ctx, "b"); len(bl.Words) != 0 || !slices.Equal(bl.Emails, []string{"bot@example.com"}) {
			t.Errorf("b's blocklist: %+v", bl)
		}
		refused := errors.New("not a network")
		err := s.UpdateBlocklist(ctx, def, func(b *moderation.Blocklist) error {
			b.Words = nil
			return refused
		}, &moderation.AuditEntry{At: at(2), Actor: "ada", Action: "blocklist set"})
		if err != refused {
			t.Errorf("a failing change: %v, want its error as is", err)
		}
		if bl, _ := s.Blocklist(ctx, def); len(bl.Words) != 2 {
			t.Errorf("a failed change was saved: %+v", bl)
		}
		// Editors at once lose nothing.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if err := set("b", moderation.Blocklist{Words: []string{fmt.Sprintf("word%d", i)}}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if bl, _ := s.Blocklist(ctx, "b"); len(bl.Words) != 8 {
			t.Errorf("8 concurrent additions left %v", bl.Words)
		}
		if log := audit(t, s, "b"); len(log) != 9 {
			t.Errorf("b's audit after 9 edits: %d entries", len(log))
		}
		// The entries are the site's, whatever site they named.
		if log := audit(t, s, def); len(log) != 2 || log[0].Action != "blocklist add" || log[0].Site != def {
			t.Errorf("the default site's audit: %+v", log)
		}
		if log := audit(t, s, "b"); log[len(log)-1].Site != "b" {
			t.Errorf("b's audit: %+v", log)
		}
	})
}
