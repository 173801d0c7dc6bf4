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

// spamModels are the service's classifiers: one per site, since each site
// learns from its own moderators' decisions, loaded when first needed.
type spamModels struct {
	threshold float64

	mu     sync.Mutex // held while a site's model loads
	bySite map[string]*spamModel
}

// spamModel is one site's classifier: the model in memory, mirroring the
// counts storage keeps for the site, and the threshold it files by.
type spamModel struct {
	site      string
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

// loadModels loads the model of every site there is, so that a model
// never built (the first start after the upgrade) is built at start, not
// on a commenter's request. A site added later is loaded when first needed.
func loadModels(ctx context.Context, store Store, threshold float64) (*spamModels, error) {
	if threshold <= 0 {
		threshold = DefaultSpamThreshold
	}
	ms := &spamModels{threshold: threshold, bySite: map[string]*spamModel{}}
	sites, err := store.Sites(ctx)
	if err != nil {
		return nil, err
	}
	for _, site := range sites {
		if _, err := ms.of(ctx, store, site.ID); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// of returns site's model, loading it on first use. ErrNotFound when there
// is no such site.
func (ms *spamModels) of(ctx context.Context, store Store, site string) (*spamModel, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if m := ms.bySite[site]; m != nil {
		return m, nil
	}
	m, err := loadModel(ctx, store, site, ms.threshold)
	if err != nil {
		return nil, err
	}
	ms.bySite[site] = m
	return m, nil
}

// forget drops a removed site's model: a new site of the same id starts
// from its own, empty one.
func (ms *spamModels) forget(site string) {
	ms.mu.Lock()
	delete(ms.bySite, site)
	ms.mu.Unlock()
}

// spamFor returns the classifier of site.
func (s *Service) spamFor(ctx context.Context, site string) (*spamModel, error) {
	return s.spam.of(ctx, s.store, site)
}

// loadModel reads a site's stored model into memory, first rebuilding it
// from the site's decided comments when it was never built (the first start
// after the upgrade, or a new site) or was built by another feature
// extractor.
func loadModel(ctx context.Context, store Store, site string, threshold float64) (*spamModel, error) {
	m := &spamModel{site: site, model: classifier.New(), threshold: threshold}
	version, _, _, err := store.Model(ctx, site, nil)
	if err != nil {
		return nil, fmt.Errorf("load the spam model of site %s: %w", site, err)
	}
	if version != classifier.Version {
		if err := store.RebuildModel(ctx, site, classifier.Version, training); err != nil {
			return nil, fmt.Errorf("build the spam model of site %s: %w", site, err)
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
	_, ham, spam, err := store.Model(ctx, m.site, m.model.Set)
	if err != nil {
		return fmt.Errorf("load the spam model of site %s: %w", m.site, err)
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
	if c.BySite || n == 0 || c.History[n-1].By == bySystem {
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
// the submission to site as spam, or "". It files only when the site's model
// is ready, the score is above the threshold and the address has no good
// standing: a verified commenter, or one with an approved comment, is never
// filed.
func (s *Service) screen(ctx context.Context, site string, sub *Submission) (string, error) {
	m, err := s.spamFor(ctx, site)
	if err != nil {
		return "", err
	}
	sc := m.score(classifier.Input{Body: sub.Body, Author: sub.Author, Email: sub.Email, Website: sub.Website})
	if sc.Spam <= m.threshold || !m.ready() || s.goodStanding(ctx, sub.Email) {
		return "", nil
	}
	return fmt.Sprintf("%s: score %.4f", ReasonClassifier, math.Floor(sc.Spam*1e4)/1e4), nil
}

// goodStanding reports whether an address has approved history or was
// verified. Any doubt (an error) counts as good standing: the classifier
// then leaves the comment to a moderator.
func (s *Service) goodStanding(ctx context.Context, email string) bool {
	cs := s.store
	c, err := cs.Commenter(ctx, email)
	return err != nil || c.Approved > 0 || !c.Verified.IsZero()
}

// annotate readies comments for moderators: the current score of each
// comment's site's model and the features that weighed most.
func (s *Service) annotate(ctx context.Context, cs ...*Comment) error {
	for _, c := range cs {
		if c == nil || c.Status == StatusDeleted {
			continue
		}
		m, err := s.spamFor(ctx, c.Site)
		if err != nil {
			return err
		}
		sc := m.score(inputOf(c))
		sc.Spam = math.Round(sc.Spam*1e4) / 1e4
		if sc.Top == nil {
			sc.Top = []classifier.Weight{}
		}
		c.Score = &sc
	}
	return nil
}

// ClassifierStats says what the model has learned.
type ClassifierStats struct {
	Ham   int  `json:"ham"`   // comments learned as ham
	Spam  int  `json:"spam"`  // comments learned as spam
	Ready bool `json:"ready"` // enough of both to file comments
}

// ClassifierStats returns how many decisions of each class site's model
// holds; ErrNotFound when there is no such site.
func (s *Service) ClassifierStats(ctx context.Context, site string) (ClassifierStats, error) {
	m, err := s.spamFor(ctx, site)
	if err != nil {
		return ClassifierStats{}, err
	}
	return m.stats(), nil
}

func (m *spamModel) stats() ClassifierStats {
	ham, spam := m.model.Docs()
	return ClassifierStats{Ham: ham, Spam: spam, Ready: m.ready()}
}

// RetrainClassifier rebuilds site's model from the site's decided comments
// stored now (deleted comments no longer count) and records who did it in
// the site's audit log. Site "" retrains every site's model and returns
// the sums, Ready when every site's model is.
func (s *Service) RetrainClassifier(ctx context.Context, actor Actor, site string) (ClassifierStats, error) {
	if site != "" {
		if err := mayModerate(actor, site); err != nil {
			return ClassifierStats{}, err
		}
	}
	if !actor.May(PermRetrain) {
		return ClassifierStats{}, ErrForbidden
	}
	if site != "" {
		return s.retrain(ctx, actor, site)
	}
	ids, err := s.siteIDs(ctx, "")
	if err != nil {
		return ClassifierStats{}, err
	}
	sum := ClassifierStats{Ready: true}
	for _, id := range ids {
		st, err := s.retrain(ctx, actor, id)
		if err != nil {
			return sum, err
		}
		sum.Ham, sum.Spam, sum.Ready = sum.Ham+st.Ham, sum.Spam+st.Spam, sum.Ready && st.Ready
	}
	return sum, nil
}

// retrain is RetrainClassifier for one site.
func (s *Service) retrain(ctx context.Context, actor Actor, site string) (ClassifierStats, error) {
	m, err := s.spamFor(ctx, site)
	if err != nil {
		return ClassifierStats{}, err
	}
	m.busy.Lock()
	err = s.store.RebuildModel(ctx, site, classifier.Version, training)
	if err == nil {
		err = m.load(ctx, s.store)
	}
	st := m.stats()
	m.busy.Unlock()
	if err != nil {
		return ClassifierStats{}, err
	}
	s.tell(ctx, note{Part: partModel, Site: site})
	_ = s.store.RecordAudit(ctx, &AuditEntry{Site: site, At: s.now(), Actor: actor.Name, Action: "retrain",
		Detail: fmt.Sprintf("spam model: %d ham, %d spam", st.Ham, st.Spam), From: actor.From})
	return st, nil
}
