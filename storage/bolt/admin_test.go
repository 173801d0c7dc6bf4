package bolt

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"parley/moderation"
)

func TestSearchSeesThroughJSONEscaping(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	c := &moderation.Comment{Site: moderation.DefaultSite, ID: moderation.NewID(now), Post: "/p", Author: "Zoë Ünal", Email: "zoe@example.com",
		Body: "Use <b>Bold</b> & \"Quotes\"\nand a tab\there", Status: moderation.StatusPending, Created: now, Updated: now, IPHash: "abc123"}
	if err := db.CreateComment(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	for search, want := range map[string]bool{
		"<b>bold</b>": true, `"quotes"`: true, "bold</b> &": true, "zoË ünal": true, "ZOE@EXAMPLE": true,
		"quotes\"\nand": true, "tab\there": true, "abc123": true, "abc12": false, "bold quotes": false, "/p": false,
	} {
		got, _, err := db.Comments(ctx, moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusPending, Limit: 10, Search: search})
		if err != nil {
			t.Fatal(err)
		}
		if (len(got) == 1) != want {
			t.Errorf("search %q: found %d, want %v", search, len(got), want)
		}
	}
}

// FuzzSearchFilter: the pre-check on stored JSON never hides a comment that
// the search matches.
func FuzzSearchFilter(f *testing.F) {
	f.Add("Zoë", "a <b>body</b> & \"more\"", "ZOË")
	f.Add("x", "line\nbreak\u2028sep", "k\u2028s")
	f.Add("İstanbul", "text", "i̇st")
	f.Fuzz(func(t *testing.T, author, body, search string) {
		raw, err := json.Marshal(&moderation.Comment{Site: moderation.DefaultSite, ID: "X", Author: author, Email: "e@example.com", Body: body})
		if err != nil {
			t.Fatal(err)
		}
		var stored moderation.Comment // as storage reads it back
		if err := json.Unmarshal(raw, &stored); err != nil {
			t.Fatal(err)
		}
		if !(moderation.Query{Site: moderation.DefaultSite, Search: search}).Matches(&stored) {
			return
		}
		if !searchFilter(search)(raw) {
			t.Fatalf("the filter hides a match: search %q in %s", search, raw)
		}
	})
}
