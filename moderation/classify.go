package moderation

import (
	"context"
	"fmt"
	"math"
	"sync"

	"parley/classifier"
)

// Training is what a comment taught the spam classifier: its class and the
// hashed features it was counted under. Recorded for the comment, it lets a
// later change of mind take back exactly what was learned, whatever the
// extractor does by then. Storage adds and removes these counts in the model
// in the comment's own transaction.
type Training struct {
	Class    string   `json:"class"` // "ham" or "spam"
	Features []uint32 `json:"features"`
}

// DefaultSpamThreshold files a comment as spam from the classifier only when
// its score is above this. Scores pile up near 0 and 1, with mixed evidence
// near 0.5; a threshold this high keeps the doubtful in the queue, since a
// genuine comment lost costs more than a spam left pending. BENCHMARKS.md
// has what it catches on a public corpus.
const DefaultSpamThreshold = 0.9

// MinDecisions is how many decisions of each class the classifier must have
// learned before it files anything; until then it only shows scores.
const MinDecisions = 20

// ReasonClassifier starts the reason of a comment the classifier filed.
const ReasonClassifier = "classifier"

// bySystem is who makes automatic decisions in a comment's history.
const bySystem = "system"

// spamModel is the service's classifier: the model in memory, mirroring the
// counts storage keeps, and the threshold it files by.
type spamModel struct {
	model     *classifier.Model
	threshold float64

	// busy keeps a reload from the database from falling between a
	// decision's commit and its lesson reaching memory, which would count
	// that lesson twice: decisions hold it shared, a reload alone.
	busy sync.RWMutex
}

// deciding marks a decision in progress until the returned func is called.
func (m *spamModel) deciding() (done func()) {
	m.busy.RLock()
	return m.busy.RUnlock
}

// lesson is one comment's change in what it teaches, applied to the model in
// memory once its transaction has committed.
type lesson struct{ was, now *Training }

// loadModel reads the stored model into memory, first rebuilding it from
// the decided comments when it was never built (the first start after the
// upgrade) or was built by another feature extractor.
func loadModel(ctx context.Context, store Store, threshold float64) (*spamModel, error) {
	if threshold <= 0 {
		threshold = DefaultSpamThreshold
	}
	m := &spamModel{model: classifier.New(), threshold: threshold}
	version, _, _, err := store.Model(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("load the spam model: %w", err)
	}
	if version != classifier.Version {
		if err := store.RebuildModel(ctx, classifier.Version, training); err != nil {
			return nil, fmt.Errorf("build the spam model: %w", err)
		}
	}
	return m, m.reload(ctx, store)
}

// reload replaces the model in memory with the stored one.
func (m *spamModel) reload(ctx context.Context, store Store) error {
	m.busy.Lock()
	defer m.busy.Unlock()
	return m.load(ctx, store)
}

// load is reload, for a caller that holds busy.
func (m *spamModel) load(ctx context.Context, store Store) error {
	m.model.Reset()
	_, ham, spam, err := store.Model(ctx, m.model.Set)
	if err != nil {
		return fmt.Errorf("load the spam model: %w", err)
	}
	m.model.SetDocs(ham, spam)
	return nil
}

// decidedClass is what a comment, as it stands, teaches the model:
//   - ham when a person approved or rejected it (a rejected comment is
//     human but unwanted, not spam);
//   - spam when a person marked it as spam;
//   - ham when a person restored it from spam the system had filed (a
//     false alarm corrected);
//   - nothing otherwise: pending (so an undo takes back what the decision
//     taught), automatic decisions (so the filter never teaches itself),
//     the site's own replies and tombstones.
func decidedClass(c *Comment) (classifier.Class, bool) {
	n := len(c.History)
	if c.Site || n == 0 || c.History[n-1].By == bySystem {
		return 0, false
	}
	switch c.Status {
	case StatusApproved, StatusRejected:
		return classifier.Ham, true
	case StatusSpam:
		return classifier.Spam, true
	case StatusPending:
		if n >= 2 && c.History[n-2].Status == StatusSpam && c.History[n-2].By == bySystem {
			return classifier.Ham, true
		}
	}
	return 0, false
}

// training is what c, as it stands, should have taught the model; nil for
// nothing. Storage calls it for every comment when it rebuilds the model.
func training(c *Comment) *Training {
	class, ok := decidedClass(c)
	if !ok {
		return nil
	}
	return &Training{Class: class.String(), Features: classifier.Hashes(classifier.Extract(inputOf(c)))}
}

func inputOf(c *Comment) classifier.Input {
	return classifier.Input{Body: c.Body, Author: c.Author, Email: c.Email, Website: c.Website}
}

// retrain records on c what it teaches now that it moved, and returns the
// lesson for the model in memory.
func retrain(c *Comment) lesson {
	l := lesson{was: c.Trained, now: training(c)}
	c.Trained = l.now
	return l
}

// learn applies committed lessons to the model in memory.
func (m *spamModel) learn(lessons []lesson) {
	for _, l := range lessons {
		if SameTraining(l.was, l.now) {
			continue
		}
		if l.was != nil {
			m.model.Learn(classOf(l.was), l.was.Features, -1)
		}
		if l.now != nil {
			m.model.Learn(classOf(l.now), l.now.Features, +1)
		}
	}
}

func classOf(t *Training) classifier.Class {
	if t.Class == "spam" {
		return classifier.Spam
	}
	return classifier.Ham
}

// SameTraining reports whether a and b teach the same thing.
func SameTraining(a, b *Training) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Class != b.Class || len(a.Features) != len(b.Features) {
		return false
	}
	for i := range a.Features {
		if a.Features[i] != b.Features[i] {
			return false
		}
	}
	return true
}

// ready reports whether the model has seen enough of both classes to file.
func (m *spamModel) ready() bool {
	ham, spam := m.model.Docs()
	return ham >= MinDecisions && spam >= MinDecisions
}

// score rates what a comment says.
func (m *spamModel) score(in classifier.Input) classifier.Score {
	return m.model.Score(classifier.Extract(in))
}

// screen is the classifier's step in Submit: it returns the reason to file
// the submission as spam, or "". It files only when the model is ready, the
// score is above the threshold and the address has no good standing: a
// verified commenter, or one with an approved comment, is never filed.
func (s *Service) screen(ctx context.Context, sub *Submission) string {
	sc := s.spam.score(classifier.Input{Body: sub.Body, Author: sub.Author, Email: sub.Email, Website: sub.Website})
	if sc.Spam <= s.spam.threshold || !s.spam.ready() || s.goodStanding(ctx, sub.Email) {
		return ""
	}
	return fmt.Sprintf("%s: score %.4f", ReasonClassifier, math.Floor(sc.Spam*1e4)/1e4)
}

// goodStanding reports whether an address has approved history or was
// verified. Any doubt (an error) counts as good standing: the classifier
// then leaves the comment to a moderator.
func (s *Service) goodStanding(ctx context.Context, email string) bool {
	cs, err := s.commenters()
	if err != nil {
		return true
	}
	c, err := cs.Commenter(ctx, email)
	return err != nil || c.Approved > 0 || !c.Verified.IsZero()
}

// annotate readies a comment for moderators: the model's current score and
// the features that weighed most.
func (s *Service) annotate(c *Comment) {
	if c == nil || c.Status == StatusDeleted {
		return
	}
	sc := s.spam.score(inputOf(c))
	sc.Spam = math.Round(sc.Spam*1e4) / 1e4
	if sc.Top == nil {
		sc.Top = []classifier.Weight{}
	}
	c.Score = &sc
}

// ClassifierStats says what the model has learned.
type ClassifierStats struct {
	Ham   int  `json:"ham"`   // comments learned as ham
	Spam  int  `json:"spam"`  // comments learned as spam
	Ready bool `json:"ready"` // enough of both to file comments
}

// ClassifierStats returns how many decisions of each class the model holds.
func (s *Service) ClassifierStats() ClassifierStats {
	ham, spam := s.spam.model.Docs()
	return ClassifierStats{Ham: ham, Spam: spam, Ready: s.spam.ready()}
}

// RetrainClassifier rebuilds the model from the decided comments stored now
// (deleted comments no longer count) and records who did it.
func (s *Service) RetrainClassifier(ctx context.Context, actor Actor) (ClassifierStats, error) {
	if !actor.May(PermRetrain) {
		return ClassifierStats{}, ErrForbidden
	}
	s.spam.busy.Lock()
	err := s.store.RebuildModel(ctx, classifier.Version, training)
	if err == nil {
		err = s.spam.load(ctx, s.store)
	}
	s.spam.busy.Unlock()
	if err != nil {
		return ClassifierStats{}, err
	}
	st := s.ClassifierStats()
	if a, err := s.admin(); err == nil {
		_ = a.RecordAudit(ctx, &AuditEntry{At: s.now(), Actor: actor.Name, Action: "retrain",
			Detail: fmt.Sprintf("spam model: %d ham, %d spam", st.Ham, st.Spam), From: actor.From})
	}
	return st, nil
}
