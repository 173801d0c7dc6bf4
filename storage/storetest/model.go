package storetest

import (
	"maps"
	"testing"

	"parley/moderation"
)

// modelOf is a site's stored model: version, documents per class and each
// feature bucket's (ham, spam) counts.
type modelOf struct {
	version, ham, spam int
	counts             map[uint32][2]uint32
}

func readModel(t *testing.T, s moderation.Store, site string) modelOf {
	t.Helper()
	m := modelOf{counts: map[uint32][2]uint32{}}
	var err error
	m.version, m.ham, m.spam, err = s.Model(t.Context(), site, func(h, ham, spam uint32) {
		if _, dup := m.counts[h]; dup {
			t.Errorf("bucket %d given twice", h)
		}
		m.counts[h] = [2]uint32{ham, spam}
	})
	if err != nil {
		t.Fatalf("model of %s: %v", site, err)
	}
	return m
}

func wantModel(t *testing.T, s moderation.Store, site, when string, want modelOf) {
	t.Helper()
	got := readModel(t, s, site)
	if want.counts == nil {
		want.counts = map[uint32][2]uint32{}
	}
	if got.version != want.version || got.ham != want.ham || got.spam != want.spam || !maps.Equal(got.counts, want.counts) {
		t.Errorf("%s: model of %s is %+v, want %+v", when, site, got, want)
	}
}

func ham(fs ...uint32) *moderation.Training { return &moderation.Training{Class: "ham", Features: fs} }
func spam(fs ...uint32) *moderation.Training {
	return &moderation.Training{Class: "spam", Features: fs}
}

// train is a change that moves a comment to status and sets what it teaches.
func train(to moderation.Status, tr *moderation.Training, seen **moderation.Training) func(c *moderation.Comment) (*moderation.AuditEntry, error) {
	return func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		if seen != nil {
			*seen = c.Trained
		}
		c.Trained = tr
		c.Status, c.Updated = to, at(50)
		return &moderation.AuditEntry{At: at(50), Actor: "ada", Action: string(to), Comment: c.ID}, nil
	}
}

func testModel(t *testing.T, open Opener) {
	t.Run("every write keeps the model", func(t *testing.T) {
		s := open(t)
		addSite(t, s, "b")
		wantModel(t, s, def, "a new store", modelOf{})

		a := comment(def, "/p", at(1))
		a.Trained = ham(1, 2, 3)
		create(t, s, a)
		b := create(t, s, comment(def, "/p", at(2)))
		wantModel(t, s, def, "after a trained creation", modelOf{ham: 1, counts: map[uint32][2]uint32{1: {1, 0}, 2: {1, 0}, 3: {1, 0}}})

		// A change of mind: the change sees what is recorded, and the
		// recorded lesson comes out as the new one goes in.
		var seen *moderation.Training
		if err := s.UpdateComments(t.Context(), def, []string{a.ID}, train(moderation.StatusSpam, spam(2, 3, 4), &seen)); err != nil {
			t.Fatal(err)
		}
		if !moderation.SameTraining(seen, ham(1, 2, 3)) {
			t.Errorf("UpdateComments gave the change Trained %+v, want the recorded ham(1,2,3)", seen)
		}
		if err := s.UpdateComments(t.Context(), def, []string{b.ID}, train(moderation.StatusSpam, spam(4, 5), &seen)); err != nil {
			t.Fatal(err)
		}
		if seen != nil {
			t.Errorf("an untrained comment came with Trained %+v", seen)
		}
		wantModel(t, s, def, "after two spam decisions", modelOf{spam: 2, counts: map[uint32][2]uint32{2: {0, 1}, 3: {0, 1}, 4: {0, 2}, 5: {0, 1}}})
		wantModel(t, s, "b", "b after the default site's decisions", modelOf{})

		// An undo takes the lesson back.
		if err := s.UpdateComments(t.Context(), def, []string{b.ID}, train(moderation.StatusPending, nil, &seen)); err != nil {
			t.Fatal(err)
		}
		if !moderation.SameTraining(seen, spam(4, 5)) {
			t.Errorf("undo saw Trained %+v", seen)
		}
		wantModel(t, s, def, "after an undo", modelOf{spam: 1, counts: map[uint32][2]uint32{2: {0, 1}, 3: {0, 1}, 4: {0, 1}}})

		// A failed transaction teaches nothing.
		err := s.UpdateComments(t.Context(), def, []string{b.ID, moderation.NewID(at(3))}, train(moderation.StatusApproved, ham(9), nil))
		wantErr(t, err, moderation.ErrNotFound, "a training update with a missing id")
		wantModel(t, s, def, "after a failed update", modelOf{spam: 1, counts: map[uint32][2]uint32{2: {0, 1}, 3: {0, 1}, 4: {0, 1}}})

		// PublishReply hands approve the parent with its record.
		reply := replyTo(b, at(4))
		reply.Status, reply.BySite = moderation.StatusApproved, true
		err = s.PublishReply(t.Context(), reply, func(p *moderation.Comment) (*moderation.AuditEntry, error) {
			seen = p.Trained
			p.Status, p.Updated, p.Trained = moderation.StatusApproved, at(4), ham(6)
			return &moderation.AuditEntry{At: at(4), Actor: "ada", Action: "approve", Comment: p.ID}, nil
		}, &moderation.AuditEntry{At: at(4), Actor: "ada", Action: "reply", Comment: reply.ID})
		if err != nil {
			t.Fatal(err)
		}
		if seen != nil {
			t.Errorf("PublishReply gave approve Trained %+v for an untrained parent", seen)
		}
		wantModel(t, s, def, "after a reply approved the parent", modelOf{ham: 1, spam: 1,
			counts: map[uint32][2]uint32{2: {0, 1}, 3: {0, 1}, 4: {0, 1}, 6: {1, 0}}})

		// Deleting is not a change of mind: the counts stay. The change
		// still sees what the comment taught.
		if err := s.DeleteComments(t.Context(), def, []string{a.ID}, func(c *moderation.Comment) (*moderation.AuditEntry, error) {
			seen = c.Trained
			return tombstone(at(5))(c)
		}); err != nil {
			t.Fatal(err)
		}
		if !moderation.SameTraining(seen, spam(2, 3, 4)) {
			t.Errorf("DeleteComments gave the change Trained %+v, want the recorded spam(2,3,4)", seen)
		}
		wantModel(t, s, def, "after a deletion", modelOf{ham: 1, spam: 1,
			counts: map[uint32][2]uint32{2: {0, 1}, 3: {0, 1}, 4: {0, 1}, 6: {1, 0}}})
		// b is a tombstone now too (it has a reply); its record went with it.
		if err := s.DeleteComments(t.Context(), def, []string{b.ID}, tombstone(at(6))); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteComments(t.Context(), def, []string{b.ID}, func(c *moderation.Comment) (*moderation.AuditEntry, error) {
			seen = c.Trained
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		if seen != nil {
			t.Errorf("a tombstone kept its training record %+v", seen)
		}
		wantModel(t, s, def, "after deleting the trained parent", modelOf{ham: 1, spam: 1,
			counts: map[uint32][2]uint32{2: {0, 1}, 3: {0, 1}, 4: {0, 1}, 6: {1, 0}}})
		if _, _, _, err := s.Model(t.Context(), def, nil); err != nil {
			t.Errorf("Model without fn: %v", err)
		}
	})

	t.Run("rebuild", func(t *testing.T) {
		s := open(t)
		addSite(t, s, "b")
		var mk []*moderation.Comment
		for i, st := range []moderation.Status{"approved", "spam", "pending", "approved", "spam"} {
			c := comment(def, "/p", at(i))
			c.Trained = spam(99) // what an older extractor taught
			create(t, s, c)
			move(t, s, def, st, at(10+i), c.ID)
			c.Status = st
			mk = append(mk, c)
		}
		gone := create(t, s, comment(def, "/p", at(8)))
		if err := s.DeleteComments(t.Context(), def, []string{gone.ID}, tombstone(at(9))); err != nil {
			t.Fatal(err)
		}
		other := comment("b", "/p", at(9))
		other.Trained = ham(42)
		create(t, s, other)

		seen := map[string]bool{}
		err := s.RebuildModel(t.Context(), def, 7, func(c *moderation.Comment) *moderation.Training {
			seen[c.ID] = true
			switch c.Status {
			case moderation.StatusApproved:
				return ham(uint32(len(c.ID)), 1)
			case moderation.StatusSpam:
				return spam(uint32(len(c.ID)), 2)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range mk {
			if !seen[c.ID] {
				t.Errorf("train was not called for %s (%s)", c.ID, c.Status)
			}
		}
		if seen[other.ID] {
			t.Error("the default site's rebuild trained on b's comment")
		}
		wantModel(t, s, def, "after the rebuild", modelOf{version: 7, ham: 2, spam: 2, counts: map[uint32][2]uint32{26: {2, 2}, 1: {2, 0}, 2: {0, 2}}})
		wantModel(t, s, "b", "b after the default site's rebuild", modelOf{ham: 1, counts: map[uint32][2]uint32{42: {1, 0}}})

		// What the rebuild recorded is what the next change takes back.
		var was *moderation.Training
		if err := s.UpdateComments(t.Context(), def, []string{mk[0].ID}, train(moderation.StatusRejected, nil, &was)); err != nil {
			t.Fatal(err)
		}
		if !moderation.SameTraining(was, ham(26, 1)) {
			t.Errorf("after the rebuild, the change saw %+v", was)
		}
		wantModel(t, s, def, "after undoing a rebuilt lesson", modelOf{version: 7, ham: 1, spam: 2, counts: map[uint32][2]uint32{26: {1, 2}, 1: {1, 0}, 2: {0, 2}}})
	})
}
