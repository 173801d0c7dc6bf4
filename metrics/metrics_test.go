package metrics

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"parley/moderation"
)

// TestSiteLabelIsBounded: the first MaxSiteLabels sites keep their own
// label, later ones share "other", and a known site keeps its label.
func TestSiteLabelIsBounded(t *testing.T) {
	l := siteLabels{known: map[string]bool{}}
	for i := range MaxSiteLabels {
		if got := l.label(fmt.Sprintf("s%d", i)); got != fmt.Sprintf("s%d", i) {
			t.Fatalf("site %d labelled %q", i, got)
		}
	}
	if got := l.label("late"); got != "other" {
		t.Errorf("site 101 labelled %q, want other", got)
	}
	if got := l.label("s7"); got != "s7" {
		t.Errorf("a known site labelled %q", got)
	}
}

// TestRemoteEventsAreNotCounted: another instance's changes, replayed here
// for caches, are that instance's work and counted there.
func TestRemoteEventsAreNotCounted(t *testing.T) {
	m := &Metrics{
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s"}, []string{"site", "outcome"}),
		moderations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "m"}, []string{"site", "action"}),
		sites:       siteLabels{known: map[string]bool{}},
	}
	c := []*moderation.Comment{{ID: "c1", Site: "blog", Status: moderation.StatusApproved}}
	for _, remote := range []bool{false, true} {
		m.count(context.Background(), moderation.Event{Kind: moderation.EventSubmitted, Comments: c, Remote: remote})
		m.count(context.Background(), moderation.Event{Kind: moderation.EventModerated, Comments: c, Remote: remote})
	}
	value := func(c prometheus.Counter) float64 {
		var d dto.Metric
		if err := c.Write(&d); err != nil {
			t.Fatal(err)
		}
		return d.GetCounter().GetValue()
	}
	if got := value(m.submissions.WithLabelValues("blog", "approved")); got != 1 {
		t.Errorf("submissions counted %v, want 1 (the local one)", got)
	}
	if got := value(m.moderations.WithLabelValues("blog", "approve")); got != 1 {
		t.Errorf("moderations counted %v, want 1 (the local one)", got)
	}
}
