package moderation

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"parley/classifier"
)

// Evaluation is how the classifier would have done on a labelled history.
type Evaluation struct {
	Comments int // labelled comments read (approved, rejected or spam)
	Learned  int // of them, at the start, learned without being measured
	Spam     int // spam measured
	Ham      int // genuine comments (approved or rejected) measured
	// At each threshold asked for: spam the classifier would have filed,
	// and genuine comments it would have filed (lost).
	Thresholds []float64
	Caught     []int
	Lost       []int
}

// maxEvalLine is the longest line Evaluate reads: a comment with the
// longest body and every field escaped fits well within it.
const maxEvalLine = 1 << 20

// Evaluate replays a labelled history: Parley's ndjson export, one comment
// per line. Approved and rejected comments are genuine, spam is spam, the
// rest is skipped. In time order, it learns the first learnFirst (0 to 1)
// of the comments without measuring them, then, for each later comment,
// scores it as the live filter would (filing nothing before MinDecisions of
// each class, never an address with an approved comment before it) and
// only then learns its label.
func Evaluate(r io.Reader, learnFirst float64, thresholds []float64) (Evaluation, error) {
	ev := Evaluation{Thresholds: thresholds, Caught: make([]int, len(thresholds)), Lost: make([]int, len(thresholds))}
	if !(learnFirst >= 0 && learnFirst < 1) {
		return ev, fmt.Errorf("the share learned first must be at least 0 and below 1")
	}
	var cs []*Comment
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxEvalLine)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c Comment
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return ev, fmt.Errorf("line %d: not a comment of Parley's ndjson export: %v", line, err)
		}
		if _, ok := label(&c); ok {
			cs = append(cs, &c)
		}
	}
	if err := sc.Err(); err != nil {
		return ev, err
	}
	slices.SortStableFunc(cs, func(a, b *Comment) int { return a.Created.Compare(b.Created) })
	ev.Comments = len(cs)
	ev.Learned = int(float64(len(cs)) * learnFirst)
	m := &spamModel{model: classifier.New()}
	approved := make(map[string]bool)
	for i, c := range cs {
		class, _ := label(c)
		fs := classifier.Extract(inputOf(c))
		if i >= ev.Learned {
			score := m.model.Score(fs).Spam
			files := m.ready() && !approved[EmailKey(c.Email)]
			if class == classifier.Spam {
				ev.Spam++
			} else {
				ev.Ham++
			}
			for t, th := range thresholds {
				switch {
				case !files || score <= th:
				case class == classifier.Spam:
					ev.Caught[t]++
				default:
					ev.Lost[t]++
				}
			}
		}
		m.model.Learn(class, classifier.Hashes(fs), +1)
		if c.Status == StatusApproved && c.Email != "" {
			approved[EmailKey(c.Email)] = true
		}
	}
	return ev, nil
}

// label is the class a history gives a comment.
func label(c *Comment) (classifier.Class, bool) {
	switch c.Status {
	case StatusApproved, StatusRejected:
		return classifier.Ham, true
	case StatusSpam:
		return classifier.Spam, true
	}
	return 0, false
}
