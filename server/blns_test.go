package server

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"parley/moderation"
)

// TestNaughtyStrings drives every string of the Big List of Naughty Strings
// through every field: never a 5xx, an exact round trip of what is accepted
// (after the documented trimming), a field error for what is refused.
func TestNaughtyStrings(t *testing.T) {
	// The list and its MIT licence are checked in beside this test (testdata/).
	data, err := os.ReadFile("testdata/blns.json")
	if err != nil {
		t.Fatal(err)
	}
	var naughty []string
	if err := json.Unmarshal(data, &naughty); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	for _, field := range []string{"post", "author", "email", "website", "body"} {
		t.Run(field, func(t *testing.T) {
			accepted := map[string]string{} // id → what must come back
			var mu sync.Mutex
			var wg sync.WaitGroup
			work := make(chan string)
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for s := range work {
						c := comment("/blns/"+field, "Naughty", "body")
						if field == "website" {
							s = "https://example.com/" + s // the naughty part where a URL can hold it
						}
						c[field] = s
						rec := e.request(http.MethodPost, "/api/comments", c)
						switch {
						case rec.Code == http.StatusAccepted:
							mu.Lock()
							accepted[decode[submitted](t, rec).ID] = normalized(field, s)
							mu.Unlock()
						case rec.Code == http.StatusBadRequest:
							if body := decode[apiError](t, rec); body.Error.Fields[field] == "" {
								t.Errorf("%s=%q refused without naming the field: %s", field, s, rec.Body.String())
							}
						default:
							t.Errorf("%s=%q: status %d %s", field, s, rec.Code, rec.Body.String())
						}
					}
				}()
			}
			for _, s := range naughty {
				work <- s
			}
			close(work)
			wg.Wait()
			if field != "email" && len(accepted) < len(naughty)/3 {
				t.Errorf("only %d of %d accepted for %s", len(accepted), len(naughty), field)
			}
			checkRoundTrip(t, e, field, accepted)
		})
	}
}

// normalized is what the service stores for a field: trimmed, and the body
// with CRLF turned into LF.
func normalized(field, s string) string {
	if field == "body" {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return strings.TrimSpace(s)
}

// scriptInHTML finds markup that could run: script elements, event handler
// attributes, javascript: links.
var scriptInHTML = regexp.MustCompile(`(?i)<script|<[a-z][^>]*\son[a-z]+\s*=|href\s*=\s*"?\s*javascript:`)

func checkRoundTrip(t *testing.T, e *env, field string, accepted map[string]string) {
	t.Helper()
	var ids []string
	for id := range accepted {
		ids = append(ids, id)
	}
	for start := 0; start < len(ids); start += moderation.MaxBulk {
		chunk := ids[start:min(start+moderation.MaxBulk, len(ids))]
		wantStatus(t, e.admin(http.MethodPost, "/api/admin/comments/bulk", map[string]any{"ids": chunk, "action": "approve"}), http.StatusOK)
	}
	for id, want := range accepted {
		c := decode[moderation.Comment](t, e.admin(http.MethodGet, "/api/admin/comments/"+id, nil))
		got := map[string]string{"post": c.Post, "author": c.Author, "email": c.Email, "website": c.Website, "body": c.Body}[field]
		if got != want {
			t.Errorf("%s round trip: got %q, want %q", field, got, want)
		}
		if scriptInHTML.MatchString(c.HTML) {
			t.Errorf("published HTML carries script: %q", c.HTML)
		}
		if field == "post" {
			th := e.thread(want)
			if th.Post != want || th.Count < 1 {
				t.Errorf("thread of post %q: %+v", want, th)
			}
		}
	}
	if field != "post" {
		th := e.thread("/blns/" + field)
		if th.Count != len(accepted) {
			t.Errorf("thread has %d, want %d", th.Count, len(accepted))
		}
		for _, pc := range th.Comments {
			want := accepted[pc.ID]
			switch field {
			case "author":
				if pc.Author != want {
					t.Errorf("public author %q, want %q", pc.Author, want)
				}
			case "website":
				if pc.Website != want {
					t.Errorf("public website %q, want %q", pc.Website, want)
				}
			}
		}
	}
	t.Logf("%s: %d naughty strings accepted and round-tripped", field, len(accepted))
}
