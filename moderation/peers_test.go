package moderation

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A bulk action's notes are split into announcements that each fit, and
// every note arrives once, in order.
func TestPackSplitsWithinMaxAnnounce(t *testing.T) {
	for _, n := range []int{0, 1, 60, MaxBulk} {
		var notes []note
		for i := range n {
			notes = append(notes, note{Kind: EventModerated, Site: "blog", Post: "/2026/12/" + strings.Repeat("p", i%200),
				ID: fmt.Sprintf("c%05d", i), Status: StatusApproved})
		}
		msgs := pack(notes)
		var got []note
		for _, m := range msgs {
			if len(m) > MaxAnnounce {
				t.Fatalf("%d notes: a message of %d bytes", n, len(m))
			}
			var part []note
			if err := json.Unmarshal(m, &part); err != nil {
				t.Fatalf("%d notes: %v in %s", n, err, m)
			}
			got = append(got, part...)
		}
		if len(got) != n {
			t.Fatalf("%d notes came out as %d", n, len(got))
		}
		for i := range got {
			if got[i] != notes[i] {
				t.Fatalf("note %d: got %+v, want %+v", i, got[i], notes[i])
			}
		}
		if n == MaxBulk && len(msgs) < 2 {
			t.Fatalf("%d notes in %d message", n, len(msgs))
		}
	}
}

// A note that could never fit becomes a resync, which is always safe.
func TestPackDegradesToResync(t *testing.T) {
	msgs := pack([]note{{Kind: EventModerated, Site: "blog", Post: strings.Repeat("<", MaxAnnounce), ID: "c1"}})
	if len(msgs) != 1 || string(msgs[0]) != `[{"w":"resync"}]` {
		t.Fatalf("got %q", msgs)
	}
}
