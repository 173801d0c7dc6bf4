package bolt

import (
	"context"
	"reflect"
	"testing"

	"parley/moderation"
)

// TestThreadHoldsOnlyPublicFields: the thread readers get is the same as
// from fully loaded comments, while nothing private is even decoded.
func TestThreadHoldsOnlyPublicFields(t *testing.T) {
	ctx := context.Background()
	db, ids := checkFixture(t)
	thread, err := db.Thread(ctx, moderation.DefaultSite, "/a")
	if err != nil {
		t.Fatal(err)
	}
	if len(thread) != 2 || thread[0].ID != ids["parent"] || thread[1].ID != ids["reply"] {
		t.Fatalf("thread of /a = %v, want the tombstone and its reply", thread)
	}
	for _, c := range thread {
		full, err := db.Comment(ctx, moderation.DefaultSite, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.Public(), full.Public(); !reflect.DeepEqual(got, want) {
			t.Errorf("public view of %s:\n got %+v\nwant %+v", c.ID, got, want)
		}
		if c.Post != full.Post || c.Status != full.Status || c.Depth != full.Depth {
			t.Errorf("%s: post, status or depth lost: %+v", c.ID, c)
		}
		if c.Email != "" || c.Body != "" || c.IPHash != "" || c.UserAgent != "" || c.History != nil {
			t.Errorf("%s: the thread holds private fields: %+v", c.ID, c)
		}
	}
	if full, _ := db.Comment(ctx, moderation.DefaultSite, ids["reply"]); full.Email == "" || full.IPHash == "" {
		t.Fatalf("the fixture's reply has no email or IP hash to leave out: %+v", full)
	}
}
