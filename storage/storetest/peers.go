package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"parley/moderation"
)

// testPeers holds what one store alone can show of PeerStore: a lease is
// taken and kept by its holder, announcements are bounded, and a listener
// ends with its context. What several processes see of each other is for
// the backends that have them (storage/postgres's own tests, e2e).
func testPeers(t *testing.T, open Opener) {
	ctx := context.Background()
	t.Run("lease is taken and renewed", func(t *testing.T) {
		s := open(t)
		for i := range 3 {
			held, err := s.Lease(ctx, "housekeeping", time.Hour)
			if err != nil || !held {
				t.Fatalf("call %d: Lease = %v, %v; want held by its only caller", i, held, err)
			}
		}
		if held, err := s.Lease(ctx, "another", time.Minute); err != nil || !held {
			t.Fatalf("another lease: %v, %v", held, err)
		}
	})
	t.Run("announcements are bounded", func(t *testing.T) {
		s := open(t)
		if err := s.Announce(ctx, []byte(strings.Repeat("x", moderation.MaxAnnounce))); err != nil {
			t.Fatalf("MaxAnnounce bytes: %v", err)
		}
		if err := s.Announce(ctx, []byte(strings.Repeat("x", moderation.MaxAnnounce+1))); err == nil {
			t.Fatal("one byte over MaxAnnounce was taken")
		}
	})
	t.Run("listen ends with its context", func(t *testing.T) {
		s := open(t)
		done, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Listen(done, func([]byte) {}, func() {}); err != nil {
			t.Fatalf("Listen with an ended context: %v, want nil", err)
		}
	})
}
