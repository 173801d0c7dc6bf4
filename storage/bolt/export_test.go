package bolt

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"parley/moderation"
)

// TestExportByPostInGroups: grouping by post gives the same order whether
// the posts fit one group or take many passes, and keeps each post's
// comments together in ID order.
func TestExportByPostInGroups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	writeFixture(t, path, 12_000) // 10,000 posts of one or two comments
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	order := func(group int, q moderation.ExportQuery) []string {
		t.Helper()
		defer func(was int) { byPostGroup = was }(byPostGroup)
		byPostGroup = group
		var ids []string
		q.ByPost = true
		if err := db.ExportComments(context.Background(), q, func(c *moderation.Comment) error {
			ids = append(ids, c.Post+" "+c.ID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for _, q := range []moderation.ExportQuery{{Site: moderation.DefaultSite}, {Site: moderation.DefaultSite, Status: moderation.StatusApproved}} {
		one, many := order(1<<18, q), order(4_000, q) // about 3,300 posts a group: four passes
		if len(one) == 0 || !slices.Equal(one, many) {
			t.Fatalf("%+v: %d comments in one group, %d in groups; orders differ", q, len(one), len(many))
		}
		seen := map[string]bool{}
		for i, s := range one {
			post := s[:len(s)-27]
			if i > 0 && post != one[i-1][:len(one[i-1])-27] {
				if seen[post] {
					t.Fatalf("post %s comes back at %d", post, i)
				}
				seen[one[i-1][:len(one[i-1])-27]] = true
			} else if i > 0 && s < one[i-1] {
				t.Fatalf("comments of %s out of ID order at %d", post, i)
			}
		}
	}
}
