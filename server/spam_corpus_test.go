package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"parley/moderation"
)

// sample is one comment of testdata/spam-corpus.jsonl: what was sent, and
// how (see the corpus's "how": direct, honeypot, instant, replay, human).
type sample struct {
	Kind, How, Post, Author, Email, Website, Body, IP, Note string
}

func loadCorpus(t *testing.T) []sample {
	t.Helper()
	f, err := os.Open("testdata/spam-corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sample
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		var s sample
		if err := json.Unmarshal(lines.Bytes(), &s); err != nil {
			t.Fatalf("corpus line %d: %v", len(out)+1, err)
		}
		out = append(out, s)
	}
	return out
}

// TestSpamCorpus sends the corpus through the real HTTP API as the widget
// (or the bot) would, with the shipped pipeline and then with the example
// blocklist, and reports what each check caught. No genuine comment may be
// refused or filed as spam by the shipped pipeline.
func TestSpamCorpus(t *testing.T) {
	corpus := loadCorpus(t)
	var example moderation.Blocklist
	raw, err := os.ReadFile("testdata/blocklist-example.json")
	if err != nil || json.Unmarshal(raw, &example) != nil {
		t.Fatalf("example blocklist: %v", err)
	}
	for _, scenario := range []struct {
		name      string
		blocklist *moderation.Blocklist
	}{{"shipped pipeline", nil}, {"with the example blocklist", &example}} {
		t.Run(scenario.name, func(t *testing.T) {
			// No rate limit: it is tested on its own, and here it would only
			// add catches to the figures.
			g := newGuarded(t, moderation.DefaultSpamOptions(), Config{})
			if scenario.blocklist != nil {
				if rec := g.as(g.owner, http.MethodPut, "/api/admin/blocklist", scenario.blocklist); rec.Code != http.StatusOK {
					t.Fatalf("blocklist: %d %s", rec.Code, rec.Body)
				}
			}
			outcomes := map[string]map[string]int{} // how → outcome → count
			var hamLost, hamFlagged []string
			var captured string // the token the replaying bot captured
			for i, s := range corpus {
				outcome := sendSample(g, i, s, &captured)
				key := s.Kind + " " + s.How
				if outcomes[key] == nil {
					outcomes[key] = map[string]int{}
				}
				outcomes[key][outcome]++
				if s.Kind == "ham" && outcome != "pending" {
					if strings.HasPrefix(outcome, "spam") {
						hamFlagged = append(hamFlagged, fmt.Sprintf("%s (%s): %s", s.Author, s.Note, outcome))
					} else {
						hamLost = append(hamLost, fmt.Sprintf("%s (%s): %s", s.Author, s.Note, outcome))
					}
				}
			}
			t.Log("\n" + corpusReport(outcomes))
			if len(hamLost) > 0 {
				t.Errorf("genuine comments refused: %v", hamLost)
			}
			if scenario.blocklist == nil && len(hamFlagged) > 0 {
				t.Errorf("genuine comments filed as spam by the shipped pipeline: %v", hamFlagged)
			}
			if len(hamFlagged) > 0 {
				t.Logf("genuine comments filed as spam (restorable): %v", hamFlagged)
			}
			caught, total := 0, 0
			for key, byOutcome := range outcomes {
				if strings.HasPrefix(key, "spam ") {
					for o, n := range byOutcome {
						total += n
						if o != "pending" {
							caught += n
						}
					}
				}
			}
			floor := 0.75
			if scenario.blocklist != nil {
				floor = 0.9
			}
			if float64(caught) < floor*float64(total) {
				t.Errorf("caught %d of %d spam, below %.0f%%", caught, total, floor*100)
			}
		})
	}
}

// sendSample delivers one sample the way its sender would and returns the
// outcome: "pending", "spam: CHECK" or "refused: CODE".
func sendSample(g *guarded, i int, s sample, captured *string) string {
	g.t.Helper()
	fields := map[string]string{"post": s.Post, "author": s.Author, "email": s.Email, "website": s.Website, "body": s.Body}
	fill := 0.0 // seconds from form to submit, varied but reproducible
	switch s.How {
	case "direct":
	case "honeypot":
		fields["token"], fields["nickname"], fill = g.form(s.Post).Token, s.Author, 1+float64(i%3)*0.7
	case "instant":
		fields["token"], fill = g.form(s.Post).Token, 0.3+float64(i%20)*0.1
	case "replay":
		if *captured == "" {
			*captured = g.form(s.Post).Token
		}
		fields["token"], fill = *captured, 60
	case "human":
		fields["token"], fill = g.form(s.Post).Token, 20+float64(i*37%580)
	default:
		g.t.Fatalf("sample %d: unknown how %q", i, s.How)
	}
	g.clock.AdvanceSeconds(fill)
	addr := s.IP
	if addr == "" {
		addr = fmt.Sprintf("192.0.2.%d", i%250+1)
	}
	rec := g.submit(fields, addr+":40000")
	if rec.Code != http.StatusAccepted {
		code, _ := errorCode(g.t, rec)
		return "refused: " + code
	}
	c := g.stored(rec)
	if c.Status == moderation.StatusPending {
		return "pending"
	}
	check, _, _ := strings.Cut(reason(c), ":")
	return "spam: " + check
}

// corpusReport is a Markdown table of outcomes per kind of sender.
func corpusReport(outcomes map[string]map[string]int) string {
	keys := make([]string, 0, len(outcomes))
	for k := range outcomes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("| sent as | samples | passed to the queue | caught, by check |\n| --- | ---: | ---: | --- |\n")
	for _, k := range keys {
		total, passed := 0, outcomes[k]["pending"]
		var by []string
		for o, n := range outcomes[k] {
			total += n
			if o != "pending" {
				by = append(by, fmt.Sprintf("%s ×%d", o, n))
			}
		}
		slices.Sort(by)
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", k, total, passed, strings.Join(by, ", "))
	}
	return b.String()
}
