package bolt

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// checkFixture builds a database through the service, the way the server
// does: approved comments with replies, a tombstone, a rejected one and a
// pending one. It returns the IDs by role.
func checkFixture(t *testing.T) (*DB, map[string]string) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	svc, err := moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	owner := moderation.Actor{Name: "owner", Role: moderation.RoleOwner}
	submit := func(post, parent string) string {
		c, err := svc.Submit(ctx, moderation.DefaultSite, moderation.Submission{Post: post, Parent: parent, Author: "Ada",
			Email: "ada@example.com", Body: "Hello from " + post}, moderation.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	moderate := func(id string, a moderation.Action) {
		if _, err := svc.Moderate(ctx, owner, moderation.DefaultSite, []string{id}, a); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]string{}
	ids["parent"] = submit("/a", "")
	moderate(ids["parent"], moderation.ActionApprove)
	ids["reply"] = submit("/a", ids["parent"])
	moderate(ids["reply"], moderation.ActionApprove)
	moderate(ids["parent"], moderation.ActionDelete) // stays as a tombstone
	ids["approved"] = submit("/b", "")
	moderate(ids["approved"], moderation.ActionApprove)
	ids["rejected"] = submit("/b", "")
	moderate(ids["rejected"], moderation.ActionReject)
	ids["pending"] = submit("/c", "")
	gone := submit("/c", "")
	moderate(gone, moderation.ActionDelete)
	return db, ids
}

func TestCheckPassesAConsistentDatabase(t *testing.T) {
	db, _ := checkFixture(t)
	if err := db.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestCheckFindsEachInconsistency breaks one index at a time, as a torn or
// buggy write would, and expects Check to name it.
func TestCheckFindsEachInconsistency(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(tx *bbolt.Tx, ids map[string]string) error
		want    string
	}{
		{"comment missing from its status", func(tx *bbolt.Tx, ids map[string]string) error {
			return defaultSite(tx).Bucket(bucketStatus).Bucket([]byte("pending")).Delete([]byte(ids["pending"]))
		}, "missing from the status index"},
		{"comment in two statuses", func(tx *bbolt.Tx, ids map[string]string) error {
			return defaultSite(tx).Bucket(bucketStatus).Bucket([]byte("spam")).Put([]byte(ids["pending"]), []byte("/c"))
		}, "is listed under both"},
		{"status lists a missing comment", func(tx *bbolt.Tx, ids map[string]string) error {
			return defaultSite(tx).Bucket(bucketComments).Delete([]byte(ids["rejected"]))
		}, "which does not exist"},
		{"approved comment missing from its thread", func(tx *bbolt.Tx, ids map[string]string) error {
			return defaultSite(tx).Bucket(bucketThread).Bucket([]byte("/b")).Delete([]byte(ids["approved"]))
		}, "approved comments but its thread lists"},
		{"thread lists an unapproved comment", func(tx *bbolt.Tx, ids map[string]string) error {
			return defaultSite(tx).Bucket(bucketThread).Bucket([]byte("/b")).Put([]byte(ids["rejected"]), nil)
		}, "which is rejected"},
		{"wrong count", func(tx *bbolt.Tx, ids map[string]string) error {
			return defaultSite(tx).Bucket(bucketCounts).Put([]byte("/b"), u64(2))
		}, `count of post "/b" is 2`},
		{"missing count", func(tx *bbolt.Tx, ids map[string]string) error {
			return defaultSite(tx).Bucket(bucketCounts).Delete([]byte("/a"))
		}, "and no count"},
		{"missing reply link", func(tx *bbolt.Tx, ids map[string]string) error {
			return defaultSite(tx).Bucket(bucketReplies).Delete(replyKey(ids["parent"], ids["reply"]))
		}, "the replies index lacks"},
		{"stray reply link", func(tx *bbolt.Tx, ids map[string]string) error {
			return defaultSite(tx).Bucket(bucketReplies).Put(replyKey(ids["approved"], ids["pending"]), nil)
		}, "matches no reply"},
		{"origin of no site", func(tx *bbolt.Tx, ids map[string]string) error {
			return tx.Bucket(bucketOrigins).Put([]byte("https://stray.example"), []byte("default"))
		}, "the origins index gives https://stray.example"},
		{"undecodable comment", func(tx *bbolt.Tx, ids map[string]string) error {
			return defaultSite(tx).Bucket(bucketComments).Put([]byte(ids["pending"]), []byte("{torn"))
		}, "does not decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, ids := checkFixture(t)
			if err := db.bolt.Update(func(tx *bbolt.Tx) error { return tt.corrupt(tx, ids) }); err != nil {
				t.Fatal(err)
			}
			err := db.Check(context.Background())
			var ce *CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want a *CheckError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v\nwant a problem containing %q", err, tt.want)
			}
		})
	}
}

func defaultSite(tx *bbolt.Tx) *bbolt.Bucket {
	return tx.Bucket(bucketSites).Bucket([]byte(moderation.DefaultSite))
}
