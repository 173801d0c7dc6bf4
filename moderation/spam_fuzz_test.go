package moderation_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/bolt"
)

func fuzzFilter(f *testing.F, now *time.Time) *moderation.SpamFilter {
	db, err := bolt.Open(filepath.Join(f.TempDir(), "parley.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	opts := moderation.DefaultSpamOptions()
	opts.PoWMaxNumber, opts.Clock = 10, func() time.Time { return *now }
	filter, err := moderation.NewSpamFilter(context.Background(), db, opts)
	if err != nil {
		f.Fatal(err)
	}
	return filter
}

// FuzzFormToken: no token and answer a client makes up passes the form
// token check; only the token the server issued does.
func FuzzFormToken(f *testing.F) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	filter := fuzzFilter(f, &now)
	form, err := filter.Form(context.Background(), moderation.DefaultSite, "/p")
	if err != nil {
		f.Fatal(err)
	}
	now = now.Add(time.Minute)
	tokenCheck := filter.Checks()[2]
	f.Add(form.Token, "0")
	f.Add(form.Token[:len(form.Token)-1]+"A", "3")
	f.Add("", "")
	f.Add("AQAAAZ", "-1")
	f.Fuzz(func(t *testing.T, token, answer string) {
		sub := moderation.Submission{Post: "/p", Token: token, Nonce: answer}
		reason, err := tokenCheck(context.Background(), &sub, moderation.Client{})
		if err != nil {
			t.Fatal(err)
		}
		if reason == "" && token != form.Token {
			t.Fatalf("made-up token %q passed", token)
		}
	})
}

// FuzzBlocklist: any entry is either refused with a validation error or
// stored in a canonical form that storing again leaves as it is.
func FuzzBlocklist(f *testing.F) {
	now := time.Now()
	filter := fuzzFilter(f, &now)
	owner := moderation.Actor{Name: "fuzz", Role: moderation.RoleOwner}
	for _, seed := range []string{"casino", "Cheap  VIAGRA!", "@spam.example", "bot@x.example", "203.0.113.0/24",
		"::ffff:1.2.3.4", "2001:db8::1", "\u202ecasino", "", "..", "a@", "@"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		ctx := context.Background()
		for _, kind := range []string{moderation.BlockWords, moderation.BlockEmails, moderation.BlockNetworks} {
			first, err := filter.AddToBlocklist(ctx, owner, moderation.DefaultSite, kind, entry)
			var ve *moderation.ValidationError
			if errors.As(err, &ve) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			again, err := filter.SetBlocklist(ctx, owner, moderation.DefaultSite, first)
			if err != nil || !slices.Equal(again.Words, first.Words) || !slices.Equal(again.Emails, first.Emails) ||
				!slices.Equal(again.Networks, first.Networks) {
				t.Fatalf("%s %q: stored %+v, stored again %+v (%v)", kind, entry, first, again, err)
			}
			if _, err := filter.SetBlocklist(ctx, owner, moderation.DefaultSite, moderation.Blocklist{}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
