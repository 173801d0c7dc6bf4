package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"parley/moderation"
)

// spammy and hammy are what the moderators of this test keep seeing.
func spammy(i int) string {
	return fmt.Sprintf("Subscribe to my channel and win free crypto bonus %d https://youtube.example/win", i)
}

func hammy(i int) string {
	return fmt.Sprintf("Thanks for the careful write-up on cache headers, the ETag part (%d) cleared it up", i)
}

type scoredComment struct {
	ID     string
	Status moderation.Status
	Score  *struct {
		Value float64
		Top   []struct {
			Feature    string
			Spamminess float64
		}
	}
	Trained any
	History []moderation.Change
}

func (e *adminEnv) getComment(cookie *http.Cookie, id string) scoredComment {
	e.t.Helper()
	rec := e.do(request{method: http.MethodGet, path: "/api/admin/comments/" + id, cookie: cookie})
	if rec.Code != http.StatusOK {
		e.t.Fatalf("get %s: %d %s", id, rec.Code, rec.Body)
	}
	var c scoredComment
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *adminEnv) decide(cookie *http.Cookie, csrf string, ids []string, action moderation.Action) moderation.Result {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"ids": ids, "action": action})
	rec := e.do(request{method: http.MethodPost, path: "/api/admin/comments/bulk", cookie: cookie, csrf: csrf, body: string(body)})
	if rec.Code != http.StatusOK {
		e.t.Fatalf("bulk %s: %d %s", action, rec.Code, rec.Body)
	}
	var res moderation.Result
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		e.t.Fatal(err)
	}
	return res
}

// TestClassifierLearnsFromModerators drives the classifier through the admin
// API: decisions train it, it files nothing before 20 of each, then files
// spam with the reason "classifier", spares known commenters, and an undo
// takes its lesson back.
func TestClassifierLearnsFromModerators(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	cookie, csrf := e.login("mod")
	var hams, spams []string
	for i := range moderation.MinDecisions {
		hams = append(hams, e.submit("/post", fmt.Sprintf("Reader%d", i), hammy(i)))
		spams = append(spams, e.submit("/post", fmt.Sprintf("Promo%d", i), spammy(i)))
	}
	for _, id := range hams[:len(hams)-1] {
		if rec := e.do(request{method: http.MethodPost, path: "/api/admin/comments/" + id + "/approve", cookie: cookie, csrf: csrf}); rec.Code != http.StatusOK {
			t.Fatalf("approve: %d %s", rec.Code, rec.Body)
		}
	}
	e.decide(cookie, csrf, hams[len(hams)-1:], moderation.ActionReject) // rejected is human: ham
	e.decide(cookie, csrf, spams[:len(spams)-1], moderation.ActionSpam)

	// 20 ham but 19 spam decisions: the model scores, and files nothing.
	early := e.submit("/post", "PromoX", spammy(100))
	c := e.getComment(cookie, early)
	if c.Status != moderation.StatusPending || c.Score == nil || c.Score.Value < 0.9 || len(c.Score.Top) != 3 || c.Trained != nil {
		t.Fatalf("before 20 spam decisions: %+v", c)
	}
	e.decide(cookie, csrf, spams[len(spams)-1:], moderation.ActionSpam)
	if st := classifierStats(t, e.svc); st.Ham != 20 || st.Spam != 20 || !st.Ready {
		t.Fatalf("stats after 40 decisions: %+v", st)
	}

	filed := e.submit("/post", "PromoY", spammy(101))
	c = e.getComment(cookie, filed)
	last := c.History[len(c.History)-1]
	if c.Status != moderation.StatusSpam || !strings.HasPrefix(last.Reason, "classifier: score 0.9") || last.By != "system" {
		t.Fatalf("a spammy comment once ready: status %s, history %+v", c.Status, c.History)
	}
	if ok := e.getComment(cookie, e.submit("/post", "Reader99", hammy(99))); ok.Status != moderation.StatusPending || ok.Score.Value > 0.1 {
		t.Fatalf("a genuine comment: %+v", ok)
	}
	// Reader 0 has an approved comment: never filed, whatever they write.
	if known := e.getComment(cookie, e.submit("/post", "Reader0", spammy(102))); known.Status != moderation.StatusPending {
		t.Fatalf("a commenter with approved history was filed: %+v", known)
	}

	// Restoring what the classifier filed says "not spam": it learns ham.
	e.decide(cookie, csrf, []string{filed}, moderation.ActionRestore)
	if st := classifierStats(t, e.svc); st.Ham != 21 || st.Spam != 20 {
		t.Fatalf("after restoring a filed comment: %+v", st)
	}
	e.decide(cookie, csrf, []string{filed}, moderation.ActionSpam) // and a change of mind swaps it back
	if st := classifierStats(t, e.svc); st.Ham != 20 || st.Spam != 21 {
		t.Fatalf("after marking it spam again: %+v", st)
	}
	// Undoing moderators' own spam decisions takes their lessons back: 19
	// spam decisions are not enough to file.
	res := e.decide(cookie, csrf, []string{filed, spams[0]}, moderation.ActionRestore)
	if res.Changed != 2 || len(res.IDs) != 2 {
		t.Fatalf("undo result: %+v", res)
	}
	if st := classifierStats(t, e.svc); st.Ham != 20 || st.Spam != 19 || st.Ready {
		t.Fatalf("after the undo: %+v", st)
	}
	if c := e.getComment(cookie, e.submit("/post", "PromoZ", spammy(103))); c.Status != moderation.StatusPending {
		t.Fatalf("filed with 19 spam decisions: %+v", c)
	}
}

// trainedEnv is an admin environment whose moderator "mod" (signed in) has
// approved n genuine comments and marked n spam ones through the API.
func trainedEnv(t *testing.T, n int) (*adminEnv, *http.Cookie, string) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	cookie, csrf := e.login("mod")
	var hams, spams []string
	for i := range n {
		hams = append(hams, e.submit("/post", fmt.Sprintf("Reader%d", i), hammy(i)))
		spams = append(spams, e.submit("/post", fmt.Sprintf("Promo%d", i), spammy(i)))
	}
	e.decide(cookie, csrf, hams, moderation.ActionApprove)
	e.decide(cookie, csrf, spams, moderation.ActionSpam)
	return e, cookie, csrf
}

// TestQueueByScoreAndSpamByScore sorts and filters the queue by score, marks
// every comment above a score as spam in one request and undoes it in one.
func TestQueueByScoreAndSpamByScore(t *testing.T) {
	e, cookie, csrf := trainedEnv(t, 5)
	pending := []string{e.submit("/post", "Reader10", hammy(10)), e.submit("/post", "Promo10", spammy(10)),
		e.submit("/post", "Promo11", spammy(11)), e.submit("/post", "Reader11", hammy(11))}

	// The test clock stands still: comments sort by their random ID bits.
	high := []string{pending[1], pending[2]}
	slices.Sort(high)
	low := []string{pending[0], pending[3]}
	slices.Sort(low)
	list := func(query string) ([]scoredComment, string) {
		rec := e.do(request{method: http.MethodGet, path: "/api/admin/comments?" + query, cookie: cookie})
		if rec.Code != http.StatusOK {
			t.Fatalf("list %s: %d %s", query, rec.Code, rec.Body)
		}
		var page struct {
			Comments   []scoredComment
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &page)
		return page.Comments, page.NextCursor
	}
	ids := func(cs []scoredComment) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return strings.Join(out, " ")
	}
	top, next := list("sort=score&limit=2")
	if ids(top) != high[0]+" "+high[1] || top[0].Score.Value < top[1].Score.Value || next == "" {
		t.Fatalf("sorted by score, first page: %s (next %q))", ids(top), next)
	}
	if rest, next := list("sort=score&limit=2&cursor=" + next); len(rest) != 2 || next != "" || rest[0].Score.Value > top[1].Score.Value {
		t.Fatalf("sorted by score, second page: %s (next %q)", ids(rest), next)
	}
	if got, _ := list("min_score=0.9"); ids(got) != high[0]+" "+high[1] {
		t.Fatalf("min_score=0.9: %s", ids(got))
	}
	if got, next := list("min_score=0.9&limit=1"); ids(got) != high[0] || next != high[0] {
		t.Fatalf("min_score=0.9, one a page: %s, next %q", ids(got), next)
	}
	for _, bad := range []string{"min_score=2", "min_score=x", "sort=newest"} {
		if rec := e.do(request{method: http.MethodGet, path: "/api/admin/comments?" + bad, cookie: cookie}); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, rec.Code, rec.Body)
		}
	}

	before := classifierStats(t, e.svc)
	rec := e.do(request{method: http.MethodPost, path: "/api/admin/comments/spam-by-score", cookie: cookie, csrf: csrf, body: `{"min_score":0.9}`})
	var res moderation.Result
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != http.StatusOK || res.Changed != 2 ||
		strings.Join(res.IDs, " ") != high[0]+" "+high[1] {
		t.Fatalf("spam by score: %d %s", rec.Code, rec.Body)
	}
	if left, _ := list(""); ids(left) != low[0]+" "+low[1] {
		t.Fatalf("pending after spam by score: %s", ids(left))
	}
	if classifierStats(t, e.svc).Spam != before.Spam+2 {
		t.Fatalf("spam by score did not teach: %+v", classifierStats(t, e.svc))
	}
	undo := e.decide(cookie, csrf, res.IDs, moderation.ActionRestore)
	if left, _ := list(""); undo.Changed != 2 || len(left) != 4 || classifierStats(t, e.svc) != before {
		t.Fatalf("undo: %+v, pending %s, stats %+v", undo, ids(left), classifierStats(t, e.svc))
	}
	if rec := e.do(request{method: http.MethodPost, path: "/api/admin/comments/spam-by-score", cookie: cookie, csrf: csrf, body: `{"min_score":0}`}); rec.Code != http.StatusBadRequest {
		t.Errorf("min_score 0: %d %s", rec.Code, rec.Body)
	}
}

// TestQueuePageShowsScores renders the admin queue sorted by score: each
// item shows its score and the features that weighed most, and the page
// has the sort, the score filter and the spam-by-score form.
func TestQueuePageShowsScores(t *testing.T) {
	e, cookie, _ := trainedEnv(t, 3)
	ham, spam := e.submit("/post", "Reader9", hammy(9)), e.submit("/post", "Promo9", spammy(9))

	rec := e.do(request{method: http.MethodGet, path: "/admin?status=pending&sort=score", cookie: cookie})
	page := rec.Body.String()
	if rec.Code != http.StatusOK || strings.Index(page, `id="c-`+spam) > strings.Index(page, `id="c-`+ham) {
		t.Fatalf("sorted by score, the spammy comment is not first: %d", rec.Code)
	}
	for _, want := range []string{`<option value="score" selected>`, `id="min-score"`, `id="spam-by-score"`, `data-sort="score"`, `<summary>Spam score: highest first</summary>`,
		`<span class="score">Spam score <meter min="0" max="1"`, `class="feature spammy">subscribe<span class="visually-hidden"> (spam)</span>`,
		`/admin/static/score.js`} {
		if !strings.Contains(page, want) {
			t.Errorf("the queue page lacks %s", want)
		}
	}
	rec = e.do(request{method: http.MethodGet, path: "/admin?status=pending&min_score=0.9", cookie: cookie})
	if !strings.Contains(rec.Body.String(), `id="c-`+spam) || strings.Contains(rec.Body.String(), `id="c-`+ham) {
		t.Errorf("min_score=0.9 does not filter the page")
	}
	rec = e.do(request{method: http.MethodGet, path: "/api/admin/queue?status=pending&sort=score", cookie: cookie})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-score="`) {
		t.Errorf("queue fragment by score: %d", rec.Code)
	}
	if rec := e.do(request{method: http.MethodGet, path: "/admin/static/score.js"}); rec.Code != http.StatusOK {
		t.Errorf("score.js: %d", rec.Code)
	}
}

// classifierStats is what the default site's classifier has learned.
func classifierStats(t testing.TB, svc *moderation.Service) moderation.ClassifierStats {
	t.Helper()
	st, err := svc.ClassifierStats(context.Background(), moderation.DefaultSite)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
