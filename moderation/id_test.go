package moderation_test

import (
	"sort"
	"testing"
	"time"

	"parley/moderation"
)

// IDs made in one millisecond keep the order they were made in; a later
// millisecond sorts after every one of them.
func TestIDsKeepTheirOrder(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 1000 {
		ids = append(ids, moderation.NewID(now.Add(time.Duration(i/300)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("IDs made one after another do not sort in that order")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if len(id) != 26 || seen[id] {
			t.Fatalf("ID %q: wrong length or given twice", id)
		}
		seen[id] = true
	}
	if ids[0][:10] == ids[999][:10] {
		t.Error("IDs of different milliseconds share their time part")
	}
}
