package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/moderation"
)

func TestReplyAsTheSite(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	cookie, csrf := e.login("mod")
	id := e.submit("/post", "Ada", "Is this *right*?")

	rec := e.do(request{method: http.MethodPost, path: "/api/admin/comments/" + id + "/reply", cookie: cookie, csrf: csrf, body: `{"body":"  "}`})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"body"`) {
		t.Fatalf("empty reply: %d %s", rec.Code, rec.Body)
	}
	if c, _ := e.svc.Comment(t.Context(), moderation.Actor{Role: moderation.RoleOwner}, moderation.DefaultSite, id); c.Status != moderation.StatusPending {
		t.Fatalf("a refused reply approved the comment")
	}
	e.clock.Advance(time.Minute) // the reply comes later, and sorts after the comment
	rec = e.do(request{method: http.MethodPost, path: "/api/admin/comments/" + id + "/reply", cookie: cookie, csrf: csrf,
		body: `{"body":"Yes, **quite** right. <script>alert(1)</script>"}`})
	if rec.Code != http.StatusCreated {
		t.Fatalf("reply: %d %s", rec.Code, rec.Body)
	}
	var res struct{ Parent, Reply moderation.Comment }
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Parent.Status != moderation.StatusApproved || !res.Reply.BySite || res.Reply.Parent != id || res.Reply.Author != "mod" {
		t.Errorf("reply result: %+v", res)
	}

	rec = e.do(request{method: http.MethodGet, path: "/api/comments?post=" + url.QueryEscape("/post")})
	var thread struct {
		Count    int
		Comments []map[string]any
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &thread); err != nil {
		t.Fatal(err)
	}
	if thread.Count != 2 || thread.Comments[1]["site"] != true || thread.Comments[1]["parent"] != id {
		t.Fatalf("public thread: %s", rec.Body)
	}
	if html := thread.Comments[1]["html"].(string); strings.Contains(html, "<script") || !strings.Contains(html, "<strong>quite</strong>") {
		t.Errorf("reply HTML: %s", html)
	}
	entries, _ := e.svc.AuditLog(t.Context(), moderation.Actor{Role: moderation.RoleOwner}, moderation.DefaultSite, 3, 0)
	if len(entries) < 2 || entries[0].Action != "reply" || entries[1].Action != "approve" || entries[1].Comment != id {
		t.Errorf("audit: %+v", entries)
	}
}

func TestQueueSearchFilterAndCounts(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	cookie, csrf := e.login("mod")
	ada := e.submit("/a", "Ada", "Lovely engines")
	e.submit("/a", "Bob", "cheap pills here")
	carl := e.submit("/b", "Carl", "About engines too")

	list := func(query string) []string {
		rec := e.do(request{method: http.MethodGet, path: "/api/admin/comments?" + query, cookie: cookie})
		if rec.Code != http.StatusOK {
			t.Fatalf("list %s: %d %s", query, rec.Code, rec.Body)
		}
		var page struct{ Comments []moderation.Comment }
		_ = json.Unmarshal(rec.Body.Bytes(), &page)
		var ids []string
		for _, c := range page.Comments {
			ids = append(ids, c.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"q=ENGINES", []string{ada, carl}},
		{"q=engines&post=%2Fb", []string{carl}},
		{"q=ada%40example", []string{ada}},
		{"q=nothing-like-this", nil},
	} {
		slices.Sort(tc.want) // oldest first; the test clock stands still, so IDs order at random
		if got := list(tc.query); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: got %v, want %v", tc.query, got, tc.want)
		}
	}
	// The page's own fragment endpoint searches the same way.
	rec := e.do(request{method: http.MethodGet, path: "/api/admin/queue?status=pending&q=pills", cookie: cookie})
	if body := rec.Body.String(); !strings.Contains(body, "Bob") || strings.Contains(body, "Ada") {
		t.Errorf("queue fragment: %s", body)
	}
	rec = e.do(request{method: http.MethodPost, path: "/api/admin/comments/bulk", cookie: cookie, csrf: csrf,
		body: `{"ids":["` + ada + `","` + carl + `"],"action":"approve"}`})
	if rec.Code != http.StatusOK {
		t.Fatalf("bulk: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(request{method: http.MethodGet, path: "/api/admin/counts", cookie: cookie})
	var counts map[string]int
	_ = json.Unmarshal(rec.Body.Bytes(), &counts)
	if counts["pending"] != 1 || counts["approved"] != 2 || counts["rejected"] != 0 || counts["spam"] != 0 {
		t.Errorf("counts: %s", rec.Body)
	}
	// Undo is a restore: back to the pending queue.
	rec = e.do(request{method: http.MethodPost, path: "/api/admin/comments/bulk", cookie: cookie, csrf: csrf,
		body: `{"ids":["` + ada + `"],"action":"restore"}`})
	if rec.Code != http.StatusOK {
		t.Fatalf("restore: %d %s", rec.Code, rec.Body)
	}
	if c, _ := e.svc.Comment(t.Context(), moderation.Actor{Role: moderation.RoleOwner}, moderation.DefaultSite, ada); c.Status != moderation.StatusPending {
		t.Errorf("restored comment is %s", c.Status)
	}
	if rec := e.do(request{method: http.MethodGet, path: "/api/admin/comments?q=" + strings.Repeat("x", 201), cookie: cookie}); rec.Code != http.StatusBadRequest {
		t.Errorf("overlong search: %d", rec.Code)
	}
}
