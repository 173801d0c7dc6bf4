package storetest

import (
	"bytes"
	"slices"
	"sync"
	"testing"

	"parley/moderation"
)

func testAccounts(t *testing.T, open Opener) {
	t.Run("moderators", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		if ms, err := s.Moderators(ctx); err != nil || len(ms) != 0 {
			t.Fatalf("a new store's moderators: %v, %v", ms, err)
		}
		cyd := moderator("cyd", moderation.RoleModerator)
		cyd.Notify = moderation.NotifyPrefs{Email: "cyd@example.com", EmailMode: moderation.EmailDigest}
		for _, m := range []*moderation.Moderator{cyd, moderator("ada", moderation.RoleOwner), moderator("bob", moderation.RoleModerator)} {
			if err := s.CreateModerator(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, s.CreateModerator(ctx, moderator("ada", moderation.RoleModerator)), moderation.ErrConflict, "a second ada")
		// Names are one person whatever their case and spacing (FoldName).
		wantErr(t, s.CreateModerator(ctx, moderator(" ADA", moderation.RoleModerator)), moderation.ErrConflict, "a second ada in capitals")
		got, err := s.Moderator(ctx, "cyd")
		if err != nil || got.Role != moderation.RoleModerator || !bytes.Equal(got.PasswordHash, cyd.PasswordHash) || !got.Created.Equal(t0) ||
			got.Sites[def] != moderation.SiteModerator || len(got.Sites) != 1 || got.Notify != cyd.Notify {
			t.Errorf("cyd read back as %+v, %v", got, err)
		}
		if got, err := s.Moderator(ctx, "Cyd "); err != nil || got.Name != "cyd" {
			t.Errorf("cyd by a folded name: %v, %v", got, err)
		}
		_, err = s.Moderator(ctx, "nosuch")
		wantErr(t, err, moderation.ErrNotFound, "an unknown moderator")
		ms, _ := s.Moderators(ctx)
		var names []string
		for _, m := range ms {
			names = append(names, m.Name)
		}
		if !slices.Equal(names, []string{"ada", "bob", "cyd"}) {
			t.Errorf("moderators = %v, want every one by name", names)
		}
	})

	t.Run("tokens", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		a := &moderation.Token{ID: "t1", Name: "deploy", Role: moderation.RoleOwner, Hash: "aa11", Created: at(1)}
		b := &moderation.Token{ID: "t2", Name: "ci", Role: moderation.RoleModerator, Site: def, Hash: "bb22", Created: at(2)}
		for _, x := range []*moderation.Token{a, b} {
			if err := s.CreateToken(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.TokenByHash(ctx, "bb22")
		if err != nil || *got != *b {
			t.Errorf("token by hash: %+v, %v; want %+v", got, err, b)
		}
		_, err = s.TokenByHash(ctx, "cc33")
		wantErr(t, err, moderation.ErrNotFound, "an unknown token hash")
		if err := s.TouchToken(ctx, "aa11", at(9)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.TokenByHash(ctx, "aa11"); !got.LastUsed.Equal(at(9)) || got.Name != "deploy" {
			t.Errorf("a touched token: %+v", got)
		}
		wantErr(t, s.TouchToken(ctx, "cc33", at(9)), moderation.ErrNotFound, "touching an unknown token")
		ts, err := s.Tokens(ctx)
		if err != nil || len(ts) != 2 {
			t.Fatalf("tokens: %v, %v", ts, err)
		}
		for _, x := range ts {
			if x.Hash == "" {
				t.Errorf("a listed token has no hash: %+v", x)
			}
		}
		if err := s.DeleteToken(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		_, err = s.TokenByHash(ctx, "aa11")
		wantErr(t, err, moderation.ErrNotFound, "a revoked token")
		wantErr(t, s.DeleteToken(ctx, "t1"), moderation.ErrNotFound, "revoking a token twice")
		if ts, _ := s.Tokens(ctx); len(ts) != 1 || ts[0].ID != "t2" {
			t.Errorf("tokens after revoking t1: %+v", ts)
		}
	})

	t.Run("secrets", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		a, err := s.Secret(ctx, "ip-hash", 32)
		if err != nil || len(a) != 32 || bytes.Equal(a, make([]byte, 32)) {
			t.Fatalf("a new secret: %x, %v", a, err)
		}
		if again, _ := s.Secret(ctx, "ip-hash", 32); !bytes.Equal(a, again) {
			t.Error("a secret changed between two reads")
		}
		if other, _ := s.Secret(ctx, "device-cookie", 32); bytes.Equal(a, other) {
			t.Error("two secrets have the same bytes")
		}
		if err := s.RotateSecret(ctx, "ip-hash", 48); err != nil {
			t.Fatal(err)
		}
		b, _ := s.Secret(ctx, "ip-hash", 32)
		if len(b) != 48 || bytes.Equal(a, b[:32]) {
			t.Errorf("after rotation: %x (was %x)", b, a)
		}
		if again, _ := s.Secret(ctx, "ip-hash", 32); !bytes.Equal(b, again) {
			t.Error("a rotated secret changed between two reads")
		}

		// Processes starting at once agree on one secret.
		var wg sync.WaitGroup
		got := make([][]byte, 8)
		for i := range got {
			wg.Go(func() {
				var err error
				if got[i], err = s.Secret(ctx, "raced", 32); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i := range got {
			if len(got[i]) != 32 || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("8 first reads of one secret differ: %x vs %x", got[i], got[0])
			}
		}
	})
}
