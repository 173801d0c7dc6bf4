package moderation_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/bolt"
)

// benchFilter builds a filter whose clock reads *now.
func benchFilter(b *testing.B, opts moderation.SpamOptions, now *time.Time) *moderation.SpamFilter {
	b.Helper()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "parley.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	*now = time.Now()
	opts.Clock = func() time.Time { return *now }
	f, err := moderation.NewSpamFilter(context.Background(), db, opts)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkForm is the server's cost of handing out one form token, with and
// without a proof-of-work puzzle.
func BenchmarkForm(b *testing.B) {
	for _, pow := range []int{0, moderation.DefaultPoWMaxNumber} {
		b.Run("pow="+strconv.Itoa(pow), func(b *testing.B) {
			opts := moderation.DefaultSpamOptions()
			opts.PoWMaxNumber = pow
			var now time.Time
			f := benchFilter(b, opts, &now)
			for b.Loop() {
				if _, err := f.Form(context.Background(), moderation.DefaultSite, "/blog/hello"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChecks is the server's cost of running the whole pipeline on one
// good submission (claims are taken later, in the comment's own write),
// without and with proof of work, and with a 1,000-entry blocklist.
func BenchmarkChecks(b *testing.B) {
	for _, tc := range []struct {
		name      string
		pow       int
		blocklist int
	}{{"default", 0, 0}, {"pow", moderation.DefaultPoWMaxNumber, 0}, {"pow+blocklist1000", moderation.DefaultPoWMaxNumber, 1000}} {
		b.Run(tc.name, func(b *testing.B) {
			opts := moderation.DefaultSpamOptions()
			opts.PoWMaxNumber = tc.pow
			var now time.Time
			f := benchFilter(b, opts, &now)
			owner := moderation.Actor{Name: "bench", Role: moderation.RoleOwner}
			var words []string
			for i := range tc.blocklist {
				words = append(words, "blocked phrase "+strconv.Itoa(i))
			}
			if _, err := f.SetBlocklist(context.Background(), owner, moderation.DefaultSite, moderation.Blocklist{Words: words,
				Networks: []string{"203.0.113.0/24"}, Emails: []string{"spam.example"}}); err != nil {
				b.Fatal(err)
			}
			form, err := f.Form(context.Background(), moderation.DefaultSite, "/blog/hello")
			if err != nil {
				b.Fatal(err)
			}
			sub := moderation.Submission{Post: "/blog/hello", Author: "Ada", Email: "ada@example.org", Token: form.Token,
				Body: "I tried this on my own blog and it worked first time; the part about ETags was new to me. Thank you!"}
			if form.PoW != nil {
				sub.Nonce = solve(b, form.PoW)
			}
			now = now.Add(time.Minute) // the reader writes for a minute
			checks := f.Checks()
			client := moderation.Client{IP: "198.51.100.7"}
			for b.Loop() {
				s := sub
				for _, check := range checks {
					if reason, err := check(context.Background(), &s, client); reason != "" || err != nil {
						b.Fatalf("%q %v", reason, err)
					}
				}
			}
		})
	}
}

func solve(b *testing.B, c *moderation.Challenge) string {
	for n := 0; n <= c.MaxNumber; n++ {
		sum := sha256.Sum256([]byte(c.Salt + strconv.Itoa(n)))
		if hex.EncodeToString(sum[:]) == c.Challenge {
			return strconv.Itoa(n)
		}
	}
	b.Fatal("no answer")
	return ""
}
