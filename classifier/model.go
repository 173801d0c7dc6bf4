package classifier

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// Class is what a decision taught: a comment is ham or spam.
type Class int

// The two classes.
const (
	Ham Class = iota
	Spam
)

// String is the class as comments record it.
func (c Class) String() string {
	if c == Spam {
		return "spam"
	}
	return "ham"
}

// Model holds, for each feature bucket, how many ham and how many spam
// comments had it, and how many comments of each class it has learned.
// Counts only add up, so unlearning a decision is exact: learn it with -1.
// It is safe for concurrent use.
type Model struct {
	mu     sync.RWMutex
	counts []uint32 // bucket b: counts[2b] ham, counts[2b+1] spam
	docs   [2]int
}

// New returns an empty model (2 MiB).
func New() *Model { return &Model{counts: make([]uint32, 2*Buckets)} }

// Learn adds (delta +1) or removes (delta -1) one comment of class with
// these feature hashes. Counts never go below zero.
func (m *Model) Learn(class Class, hashes []uint32, delta int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range hashes {
		i := 2*int(h&(Buckets-1)) + int(class)
		m.counts[i] = addClamped(m.counts[i], delta)
	}
	m.docs[class] = max(m.docs[class]+delta, 0)
}

func addClamped(n uint32, delta int) uint32 {
	v := int64(n) + int64(delta)
	if v < 0 {
		return 0
	}
	return uint32(min(v, math.MaxUint32))
}

// Set loads one bucket's counts, as storage kept them.
func (m *Model) Set(hash, ham, spam uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := 2 * int(hash&(Buckets-1))
	m.counts[i], m.counts[i+1] = ham, spam
}

// SetDocs loads how many comments of each class the model has learned.
func (m *Model) SetDocs(ham, spam int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.docs = [2]int{ham, spam}
}

// Reset empties the model.
func (m *Model) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.counts)
	m.docs = [2]int{}
}

// Docs returns how many ham and spam comments the model has learned.
func (m *Model) Docs() (ham, spam int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.docs[Ham], m.docs[Spam]
}

// Weight is how a feature leaned in a score: Spamminess is its probability
// of spam, from 0 (only ever in ham) to 1 (only ever in spam).
type Weight struct {
	Label      string  `json:"feature"`
	Spamminess float64 `json:"spamminess"`
}

// Score is the model's verdict on a comment: the probability-like Spam in
// [0, 1], and the features that weighed most, strongest first.
type Score struct {
	Spam float64  `json:"value"`
	Top  []Weight `json:"top"`
}

// The scoring constants are SpamBayes's defaults (Gary Robinson's method):
// a feature seen n times gets a spamminess pulled toward unknownProb with
// the weight of unknownStrength observations; features within minStrength
// of neutral are ignored; at most maxDiscriminators of the strongest count.
const (
	unknownProb       = 0.5
	unknownStrength   = 0.45
	minStrength       = 0.1
	maxDiscriminators = 150
	// TopFeatures is how many of the weightiest features a Score names.
	TopFeatures = 3
)

type clue struct {
	p        float64
	strength float64 // |p - 0.5|
	i        int     // index into the features
}

// Score rates the features of one comment. With Fisher's chi-square
// combining the answer sits near 0 for ham, near 1 for spam and near 0.5
// when the evidence is mixed or thin, which makes a high threshold a safe
// one: "unsure" stays in the queue.
func (m *Model) Score(fs []Feature) Score {
	var buf [MaxFeatures]clue
	clues := buf[:0]
	m.mu.RLock()
	nham, nspam := float64(max(m.docs[Ham], 1)), float64(max(m.docs[Spam], 1))
	for i, f := range fs {
		b := 2 * int(f.Hash&(Buckets-1))
		h, s := float64(m.counts[b]), float64(m.counts[b+1])
		if h+s == 0 {
			continue
		}
		hr, sr := min(h/nham, 1), min(s/nspam, 1)
		prob := sr / (hr + sr)
		n := h + s
		p := (unknownStrength*unknownProb + n*prob) / (unknownStrength + n)
		if d := math.Abs(p - 0.5); d >= minStrength {
			clues = append(clues, clue{p: p, strength: d, i: i})
		}
	}
	m.mu.RUnlock()
	strongest := func(a, b clue) int {
		if c := cmp.Compare(b.strength, a.strength); c != 0 {
			return c
		}
		return a.i - b.i
	}
	if len(clues) > maxDiscriminators {
		slices.SortFunc(clues, strongest)
		clues = clues[:maxDiscriminators]
	} else {
		// Only the top few need order: move them to the front.
		for k := 0; k < min(TopFeatures, len(clues)); k++ {
			best := k
			for j := k + 1; j < len(clues); j++ {
				if strongest(clues[j], clues[best]) < 0 {
					best = j
				}
			}
			clues[k], clues[best] = clues[best], clues[k]
		}
	}
	if len(clues) == 0 {
		return Score{Spam: 0.5}
	}
	var lnHam, lnSpam float64 // ln of the products of p and of 1-p
	for _, c := range clues {
		p := min(max(c.p, 1e-6), 1-1e-6)
		lnHam += math.Log(p)
		lnSpam += math.Log(1 - p)
	}
	n := len(clues)
	spam := 1 - chi2Q(-2*lnSpam, 2*n)
	ham := 1 - chi2Q(-2*lnHam, 2*n)
	sc := Score{Spam: (spam - ham + 1) / 2}
	for _, c := range clues[:min(TopFeatures, n)] {
		sc.Top = append(sc.Top, Weight{Label: fs[c.i].Label(), Spamminess: math.Round(c.p*1000) / 1000})
	}
	return sc
}

// chi2Q is the probability that a chi-square variable with v (even) degrees
// of freedom exceeds x2: the sum of e^-m m^i / i! for i < v/2, m = x2/2,
// summed in log space so that large m neither underflows nor overflows.
func chi2Q(x2 float64, v int) float64 {
	m := x2 / 2
	if m <= 0 {
		return 1
	}
	lnm := math.Log(m)
	term := -m // ln of e^-m m^i / i!
	logSum := term
	for i := 1; i < v/2; i++ {
		term += lnm - math.Log(float64(i))
		hi, lo := max(logSum, term), min(logSum, term)
		logSum = hi + math.Log1p(math.Exp(lo-hi))
	}
	return min(math.Exp(logSum), 1)
}
