package bolt

import (
	"context"
	"fmt"
	"maps"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// modelState is everything the stored model holds.
type modelState struct {
	version, ham, spam int
	counts             map[uint32][2]uint32
	trained            int
}

// stored is the default site's model; storedOf any site's.
func stored(t *testing.T, db *DB) modelState {
	t.Helper()
	return storedOf(t, db, moderation.DefaultSite)
}

func storedOf(t *testing.T, db *DB, site string) modelState {
	t.Helper()
	st := modelState{counts: map[uint32][2]uint32{}}
	var err error
	st.version, st.ham, st.spam, err = db.Model(context.Background(), site, func(h, ham, spam uint32) { st.counts[h] = [2]uint32{ham, spam} })
	if err != nil {
		t.Fatal(err)
	}
	_ = db.bolt.View(func(tx *bbolt.Tx) error {
		st.trained = siteModel(tx, site).Bucket(bucketTrained).Stats().KeyN
		return nil
	})
	return st
}

func siteModel(tx *bbolt.Tx, site string) *bbolt.Bucket {
	return tx.Bucket(bucketSites).Bucket([]byte(site)).Bucket(bucketModel)
}

// stats is the service's in-memory model of site.
func stats(t *testing.T, svc *moderation.Service, site string) moderation.ClassifierStats {
	t.Helper()
	st, err := svc.ClassifierStats(context.Background(), site)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func sameModel(a, b modelState) bool {
	return a.version == b.version && a.ham == b.ham && a.spam == b.spam && a.trained == b.trained && maps.Equal(a.counts, b.counts)
}

// TestModelIsDurableAndExact makes decisions, changes of mind, undos and
// deletions through the service, and checks that the model kept decision
// by decision is the one a rebuild makes, that it survives a restart, and
// that a database from before the classifier is trained at its first start.
func TestModelIsDurableAndExact(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t)
	svc, err := moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := stored(t, db); st.version == 0 || st.ham+st.spam != 0 {
		t.Fatalf("a new database's model: %+v", st)
	}
	owner := moderation.Actor{Name: "ada", Role: moderation.RoleOwner}
	var ids []string
	for i := range 12 {
		c, err := svc.Submit(ctx, moderation.DefaultSite, moderation.Submission{Post: "/p", Author: fmt.Sprintf("Reader %d", i),
			Email: fmt.Sprintf("r%d@example.com", i), Body: fmt.Sprintf("comment number %d about caching, see https://x%d.example", i, i%3)},
			moderation.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	decide := func(action moderation.Action, ids ...string) {
		t.Helper()
		if _, err := svc.Moderate(ctx, owner, moderation.DefaultSite, ids, action); err != nil {
			t.Fatal(err)
		}
	}
	decide(moderation.ActionApprove, ids[0:4]...)
	decide(moderation.ActionSpam, ids[4:8]...)
	decide(moderation.ActionReject, ids[8:10]...)
	decide(moderation.ActionSpam, ids[2])    // a change of mind: ham becomes spam
	decide(moderation.ActionRestore, ids[5]) // an undo: its lesson is taken back
	live := stored(t, db)
	if live.ham != 5 || live.spam != 4 || live.trained != 9 {
		t.Fatalf("after the decisions: ham %d, spam %d, %d records", live.ham, live.spam, live.trained)
	}
	if st := stats(t, svc, moderation.DefaultSite); st.Ham != live.ham || st.Spam != live.spam {
		t.Fatalf("memory %+v, disk %+v", st, live)
	}
	// Each site learns from its own decisions only: a site added now
	// starts empty, its model built when first needed.
	if err := db.PutSite(ctx, &moderation.Site{ID: "b", Name: "B", Origins: []string{}}, true, nil); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, svc, "b"); st.Ham != 0 || st.Spam != 0 || st.Ready {
		t.Fatalf("a new site's model in memory: %+v", st)
	}
	if st := storedOf(t, db, "b"); st.version != live.version || st.ham+st.spam+st.trained != 0 || len(st.counts) != 0 {
		t.Fatalf("a new site's stored model: %+v", st)
	}
	if _, err := svc.RetrainClassifier(ctx, owner, moderation.DefaultSite); err != nil {
		t.Fatal(err)
	}
	if rebuilt := stored(t, db); !sameModel(rebuilt, live) {
		t.Fatalf("decision by decision %+v, rebuilt %+v", live, rebuilt)
	}

	decide(moderation.ActionDelete, ids[3], ids[9]) // gone, their lessons kept
	live = stored(t, db)
	if live.ham != 5 || live.trained != 7 {
		t.Fatalf("after deletions: ham %d, %d records", live.ham, live.trained)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if again := stored(t, db); !sameModel(again, live) {
		t.Fatal("the model changed across a restart")
	}
	svc, err = moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := stats(t, svc, moderation.DefaultSite); st.Ham != 5 || st.Spam != 4 {
		t.Fatalf("after a restart the service holds %+v", st)
	}

	// A database from before the classifier: no model version. The first
	// start trains from the decided comments.
	err = db.bolt.Update(func(tx *bbolt.Tx) error {
		return siteModel(tx, moderation.DefaultSite).Delete(keyVersion)
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, err = moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The deleted comments are no longer there to learn from.
	if got := stored(t, db); got.version != live.version || got.ham != 3 || got.spam != 4 || got.trained != 7 {
		t.Fatalf("first start: %+v", got)
	}
	if st := stats(t, svc, moderation.DefaultSite); st.Ham != 3 || st.Spam != 4 {
		t.Fatalf("first start, in memory: %+v", st)
	}
}
