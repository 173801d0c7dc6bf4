package metrics

import (
	"fmt"
	"testing"
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
