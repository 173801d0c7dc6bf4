package server

import (
	"context"
	"net/http"
	"testing"

	"parley/moderation"
)

func TestModerationNeedsAToken(t *testing.T) {
	e := newEnv(t)
	id := e.submit(comment("/p", "Ada", "hi"))
	for _, auth := range []string{"", "Bearer parley_wrong", "Bearer " + e.token[:len(e.token)-2], "Basic " + e.token, "Bearer"} {
		rec := e.request(http.MethodPost, "/api/admin/comments/"+id+"/approve", nil, "Authorization", auth)
		wantError(t, rec, http.StatusUnauthorized, "unauthorized")
		wantError(t, e.request(http.MethodGet, "/api/admin/comments", nil, "Authorization", auth), http.StatusUnauthorized, "unauthorized")
	}
	if th := e.thread("/p"); th.Count != 0 {
		t.Fatal("an unauthorized request approved a comment")
	}
}

func TestModerateActions(t *testing.T) {
	e := newEnv(t)
	id := e.submit(comment("/p", "Ada", "hi"))
	for _, step := range []struct {
		action string
		status moderation.Status
		public int
	}{
		{"approve", moderation.StatusApproved, 1},
		{"approve", moderation.StatusApproved, 1}, // idempotent
		{"reject", moderation.StatusRejected, 0},
		{"spam", moderation.StatusSpam, 0},
		{"approve", moderation.StatusApproved, 1}, // restored from spam
	} {
		rec := e.admin(http.MethodPost, "/api/admin/comments/"+id+"/"+step.action, nil)
		wantStatus(t, rec, http.StatusOK)
		if got := decode[moderation.Comment](t, rec); got.Status != step.status {
			t.Fatalf("after %s: status %s", step.action, got.Status)
		}
		if th := e.thread("/p"); th.Count != step.public {
			t.Fatalf("after %s: %d public", step.action, th.Count)
		}
	}
	full := decode[moderation.Comment](t, e.admin(http.MethodGet, "/api/admin/comments/"+id, nil))
	if n := len(full.History); n != 5 { // pending, approved, rejected, spam, approved
		t.Fatalf("history has %d entries: %+v", n, full.History)
	}
	if full.History[1].By != "token:tests" {
		t.Fatalf("history does not say who: %+v", full.History[1])
	}
	wantError(t, e.admin(http.MethodPost, "/api/admin/comments/nope/approve", nil), http.StatusNotFound, "not_found")
	wantError(t, e.admin(http.MethodGet, "/api/admin/comments/nope", nil), http.StatusNotFound, "not_found")
	wantError(t, e.admin(http.MethodGet, "/api/admin/comments?status=weird", nil), http.StatusBadRequest, "validation_failed")

	audit := decode[auditPage](t, e.admin(http.MethodGet, "/api/admin/audit", nil))
	if len(audit.Entries) != 4 || audit.Entries[0].Action != "approve" || audit.Entries[0].Actor != "token:tests" || audit.Entries[0].Comment != id {
		t.Fatalf("audit = %+v", audit.Entries)
	}
}

func TestBulkIsAllOrNothing(t *testing.T) {
	e := newEnv(t)
	a, b := e.submit(comment("/p", "Ada", "a")), e.submit(comment("/p", "Bob", "b"))
	rec := e.admin(http.MethodPost, "/api/admin/comments/bulk", map[string]any{"ids": []string{a, "missing", b}, "action": "approve"})
	wantError(t, rec, http.StatusNotFound, "not_found")
	if th := e.thread("/p"); th.Count != 0 {
		t.Fatalf("a failed bulk action published %d comments", th.Count)
	}
	rec = e.admin(http.MethodPost, "/api/admin/comments/bulk", map[string]any{"ids": []string{a, b}, "action": "approve"})
	wantStatus(t, rec, http.StatusOK)
	if got := decode[moderation.Result](t, rec); got.Changed != 2 || got.Unchanged != 0 {
		t.Fatalf("result = %+v", got)
	}
	if th := e.thread("/p"); th.Count != 2 {
		t.Fatalf("count = %d", th.Count)
	}
	wantError(t, e.admin(http.MethodPost, "/api/admin/comments/bulk", map[string]any{"ids": []string{a}, "action": "explode"}),
		http.StatusBadRequest, "validation_failed")
	wantError(t, e.admin(http.MethodPost, "/api/admin/comments/bulk", map[string]any{"ids": []string{}, "action": "approve"}),
		http.StatusBadRequest, "validation_failed")
	wantError(t, e.request(http.MethodPost, "/api/admin/comments/bulk", "ids=1", "Content-Type", "text/plain", "Authorization", "Bearer "+e.token),
		http.StatusUnsupportedMediaType, "unsupported_media_type")
	rec = e.admin(http.MethodPost, "/api/admin/comments/bulk", map[string]any{"ids": []string{a, b}, "action": "delete"})
	wantStatus(t, rec, http.StatusOK)
	if th := e.thread("/p"); th.Count != 0 || len(th.Comments) != 0 {
		t.Fatalf("after bulk delete: %+v", th)
	}
}

func TestDeleteKeepsThreadsWhole(t *testing.T) {
	e := newEnv(t)
	root := e.submit(comment("/p", "Ada", "root"))
	e.approve(root)
	r := comment("/p", "Bob", "reply")
	r["parent"] = root
	reply := e.submit(r)
	e.approve(reply)

	wantStatus(t, e.admin(http.MethodDelete, "/api/admin/comments/"+root, nil), http.StatusNoContent)
	th := e.thread("/p")
	if th.Count != 1 || len(th.Comments) != 2 {
		t.Fatalf("thread = %+v", th)
	}
	tomb := th.Comments[0]
	if tomb.ID != root || !tomb.Deleted || tomb.Author != "" || tomb.HTML != "" {
		t.Fatalf("tombstone = %+v", tomb)
	}
	if p := th.Comments[1].Parent; p == nil || *p != root {
		t.Fatalf("reply lost its parent: %v", p)
	}
	full := decode[moderation.Comment](t, e.admin(http.MethodGet, "/api/admin/comments/"+root, nil))
	if full.Email != "" || full.Body != "" || full.Status != moderation.StatusDeleted {
		t.Fatalf("tombstone keeps personal data: %+v", full)
	}
	wantError(t, e.admin(http.MethodPost, "/api/admin/comments/"+root+"/approve", nil), http.StatusConflict, "conflict")
	wantStatus(t, e.admin(http.MethodDelete, "/api/admin/comments/"+reply, nil), http.StatusNoContent)
	wantError(t, e.admin(http.MethodGet, "/api/admin/comments/"+reply, nil), http.StatusNotFound, "not_found")
}

func TestListPagesOldestFirst(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for _, body := range []string{"one", "two", "three"} {
		ids = append(ids, e.submit(comment("/p", "Ada", body)))
	}
	first := decode[commentPage](t, e.admin(http.MethodGet, "/api/admin/comments?status=pending&limit=2", nil))
	if len(first.Comments) != 2 || first.Comments[0].ID != ids[0] || first.NextCursor == "" {
		t.Fatalf("first page = %+v", first)
	}
	second := decode[commentPage](t, e.admin(http.MethodGet, "/api/admin/comments?status=pending&limit=2&cursor="+first.NextCursor, nil))
	if len(second.Comments) != 1 || second.Comments[0].ID != ids[2] || second.NextCursor != "" {
		t.Fatalf("second page = %+v", second)
	}
	wantError(t, e.admin(http.MethodGet, "/api/admin/comments?limit=0", nil), http.StatusBadRequest, "validation_failed")
	wantError(t, e.admin(http.MethodGet, "/api/admin/comments?limit=100000", nil), http.StatusBadRequest, "validation_failed")
}

func TestModeratorRoleCannotManageTokens(t *testing.T) {
	e := newEnv(t)
	actor, err := e.svc.Authenticate(context.Background(), e.token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Tokens(context.Background(), actor); err != moderation.ErrForbidden {
		t.Fatalf("a moderator listed tokens: %v", err)
	}
}
