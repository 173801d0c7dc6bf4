package bolt

import (
	"encoding/json"
	"testing"

	"parley/moderation"
)

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
