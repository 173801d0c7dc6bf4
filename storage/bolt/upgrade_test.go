package bolt

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/classifier"
	"parley/moderation"
)

// openFixture opens a copy of testdata/upgrade-v5.bolt, the database that
// scripts/upgrade-fixture.sh built with Parley from before sites (schema 5),
// so the test sees the upgrade a real installation goes through.
func openFixture(t *testing.T) *DB {
	t.Helper()
	db, err := Open(copyFixture(t))
	if err != nil {
		t.Fatalf("open the fixture: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// copyFixture copies testdata/upgrade-v5.bolt to a temporary file.
func copyFixture(t *testing.T) string {
	t.Helper()
	src, err := os.Open("testdata/upgrade-v5.bolt")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), "parley.db")
	dst, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUpgradeKeepsEverything: every comment, moderator, token, audit entry,
// blocklist entry and notification owed survives the upgrade, in the
// default site, and the indexes agree.
func TestUpgradeKeepsEverything(t *testing.T) {
	ctx := context.Background()
	db := openFixture(t)
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// Through schema 6 (the spam model) and 7 (sites): the model, never
	// built before, is the default site's, and no longer top-level.
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySchema); binary.BigEndian.Uint64(v) != 7 || len(migrations) != 7 {
			t.Errorf("schema %d after the upgrade, want 7", binary.BigEndian.Uint64(v))
		}
		if tx.Bucket(bucketModel) != nil {
			t.Error("a top-level model bucket is left after the upgrade")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := stored(t, db); st.version != 0 || st.ham+st.spam+st.trained != 0 {
		t.Errorf("the default site's model before the first start: %+v", st)
	}
	svc, err := moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	built := stored(t, db)
	if built.version != classifier.Version || built.ham+built.spam == 0 || built.trained != built.ham+built.spam {
		t.Errorf("the first start built no model from the decided comments: %+v", built)
	}
	if st, err := svc.ClassifierStats(ctx, moderation.DefaultSite); err != nil || st.Ham != built.ham || st.Spam != built.spam {
		t.Errorf("the model in memory: %+v, %v; stored %+v", st, err, built)
	}
	sites, err := db.Sites(ctx)
	if err != nil || len(sites) != 1 || sites[0].ID != moderation.DefaultSite || len(sites[0].Origins) != 0 {
		t.Fatalf("sites after the upgrade: %+v, %v; want the default site alone, without origins yet", sites, err)
	}

	counts, err := db.StatusCounts(ctx, moderation.DefaultSite)
	if err != nil {
		t.Fatal(err)
	}
	want := map[moderation.Status]int{moderation.StatusPending: 2, moderation.StatusApproved: 3,
		moderation.StatusRejected: 1, moderation.StatusSpam: 1}
	for s, n := range want {
		if counts[s] != n {
			t.Errorf("%s: got %d comments, want %d (all: %v)", s, counts[s], n, counts)
		}
	}
	thread, err := db.Thread(ctx, moderation.DefaultSite, "/about")
	if err != nil || len(thread) != 3 {
		t.Fatalf("thread /about: %d comments, %v; want 3", len(thread), err)
	}
	if thread[2].Parent != thread[0].ID {
		t.Errorf("the reply lost its parent: %+v", thread[2])
	}
	for _, c := range thread {
		full, err := db.Comment(ctx, moderation.DefaultSite, c.ID)
		if err != nil || full.Site != moderation.DefaultSite || full.BySite || full.Email == "" || len(full.History) == 0 {
			t.Errorf("comment %s after the upgrade: %+v, %v", c.ID, full, err)
		}
	}
	n, err := db.ApprovedCounts(ctx, moderation.DefaultSite, []string{"/about", "/posts/hello"})
	if err != nil || n["/about"] != 3 || n["/posts/hello"] != 0 {
		t.Errorf("counts: %v, %v", n, err)
	}

	mods, err := db.Moderators(ctx)
	if err != nil || len(mods) != 2 || mods[0].Name != "ada" || mods[0].Role != moderation.RoleOwner ||
		mods[1].Name != "bob" || mods[1].Notify.Email != "bob@blog.example" ||
		mods[1].Sites[moderation.DefaultSite] != moderation.SiteModerator || mods[0].Sites != nil {
		t.Errorf("moderators: %+v, %v", mods, err)
	}
	tokens, err := db.Tokens(ctx)
	if err != nil || len(tokens) != 1 || tokens[0].Name != "fixture-script" || tokens[0].Role != moderation.RoleOwner || tokens[0].Site != "" {
		t.Errorf("tokens: %+v, %v", tokens, err)
	}
	b, err := db.Blocklist(ctx, moderation.DefaultSite)
	if err != nil || len(b.Words) != 1 || b.Words[0] != "viagra" || len(b.Emails) != 1 {
		t.Errorf("blocklist: %+v, %v", b, err)
	}
	audit, err := db.AuditLog(ctx, moderation.DefaultSite, 100, 0)
	if err != nil || len(audit) < 6 {
		t.Errorf("audit: %d entries, %v; want at least 6 moves", len(audit), err)
	}
	for _, e := range audit {
		if e.Site != moderation.DefaultSite {
			t.Errorf("audit entry %d has site %q", e.Seq, e.Site)
		}
	}
	if own, err := db.AuditLog(ctx, "", 10, 0); err != nil || len(own) != 0 {
		t.Errorf("the instance's log starts empty: %+v, %v", own, err)
	}
	// New entries carry on the old sequence.
	if err := db.RecordAudit(ctx, &moderation.AuditEntry{Site: moderation.DefaultSite, Action: "test"}); err != nil {
		t.Fatal(err)
	}
	if after, _ := db.AuditLog(ctx, moderation.DefaultSite, 1, 0); len(after) != 1 || after[0].Seq != audit[0].Seq+1 {
		t.Errorf("the next audit entry is %+v, want seq %d", after, audit[0].Seq+1)
	}
	depth, err := db.OutboxDepth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owed := 0
	for _, n := range depth {
		owed += n
	}
	if owed == 0 {
		t.Errorf("outbox: nothing owed after the upgrade (%v)", depth)
	}
	due, err := db.DueDeliveries(ctx, time.Now().Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range due {
		if d.Comment != "" && d.Site != moderation.DefaultSite {
			t.Errorf("delivery %d of comment %s has site %q", d.Seq, d.Comment, d.Site)
		}
	}
}

// TestUpgradeMovesTheModel: a database at schema 6 whose spam model was
// built and trained (main's release before sites) keeps that model, now the
// default site's, when schema 7 moves everything into sites.
func TestUpgradeMovesTheModel(t *testing.T) {
	path := copyFixture(t)
	b, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	err = b.Update(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySchema); binary.BigEndian.Uint64(v) != 5 {
			t.Fatalf("the fixture has schema %d, want 5", binary.BigEndian.Uint64(v))
		}
		if err := migrations[5](tx); err != nil { // 6: the model
			return err
		}
		k, _ := tx.Bucket(bucketComments).Cursor().First()
		id = string(k)
		model := tx.Bucket(bucketModel)
		if err := model.Put(keyVersion, u64(uint64(classifier.Version))); err != nil {
			return err
		}
		if err := model.Put(keyDocs, pairBytes(1, 2)); err != nil {
			return err
		}
		if err := model.Bucket(bucketModelCounts).Put(u32(7), pairBytes(1, 2)); err != nil {
			return err
		}
		if err := save(model.Bucket(bucketTrained), k, &moderation.Training{Class: "spam", Features: []uint32{7}}); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u64(6))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	got := stored(t, db)
	want := modelState{version: classifier.Version, ham: 1, spam: 2, counts: map[uint32][2]uint32{7: {1, 2}}, trained: 1}
	if !sameModel(got, want) {
		t.Fatalf("the default site's model after the upgrade: %+v, want %+v", got, want)
	}
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketModel) != nil {
			t.Error("a top-level model bucket is left after the upgrade")
		}
		if loadTraining(tx.Bucket(bucketSites).Bucket([]byte(moderation.DefaultSite)), []byte(id)) == nil {
			t.Errorf("comment %s's training was not moved with it", id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
