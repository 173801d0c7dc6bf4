package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/testdb"
)

// seed stores n approved comments over a few posts, in one import.
func (a *transferApp) seed(t *testing.T, n int) {
	t.Helper()
	var file bytes.Buffer
	at := time.Now().UTC().Add(-time.Hour)
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("Seed comment %d, long enough to be a realistic comment body.", i)
		line, _ := json.Marshal(moderation.Comment{ID: moderation.NewID(at), Post: fmt.Sprintf("/p/%d/", i%7),
			Author: "Seed", Email: "seed@example.com", Body: body, HTML: "<p>" + body + "</p>\n",
			Status: moderation.StatusApproved, Created: at, Updated: at})
		file.Write(append(line, '\n'))
	}
	if res := a.importFile(t, "ndjson", &file); res.Created != n {
		t.Fatalf("seed: %+v", res)
	}
}

// submitOverHTTP posts one comment to the public API, as the widget does.
func (a *transferApp) submitOverHTTP(t *testing.T, i int) (string, error) {
	body := fmt.Sprintf(`{"post":"/p/%d/","author":"Writer","email":"w@example.com","body":"written during the export %d"}`, i%7, i)
	req := httptest.NewRequest(http.MethodPost, "/api/comments", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		return "", fmt.Errorf("submit: %d %s", rec.Code, rec.Body)
	}
	var res struct{ ID string }
	err := json.Unmarshal(rec.Body.Bytes(), &res)
	return res.ID, err
}

// stallingWriter is a response writer that holds the export at its first
// write until released: the export's read transaction stays open meanwhile.
type stallingWriter struct {
	*httptest.ResponseRecorder
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		close(w.started)
		<-w.release
	})
	return w.ResponseRecorder.Write(p)
}

// TestExportIsASnapshotAndWritersGoOn holds an export open in the middle
// of its read transaction while comments are submitted: every submission
// must be answered at once (bbolt readers never block writers), and the
// export must hold exactly the comments of the moment it started.
func TestExportIsASnapshotAndWritersGoOn(t *testing.T) {
	a := newTransferApp(t, nil)
	const before, during = 600, 50
	a.seed(t, before)

	w := &stallingWriter{ResponseRecorder: httptest.NewRecorder(), started: make(chan struct{}), release: make(chan struct{})}
	req := httptest.NewRequest(http.MethodGet, "/api/admin/export?format=ndjson", nil)
	req.Header.Set("Authorization", "Bearer "+a.owner)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.handler.ServeHTTP(w, req)
	}()
	select {
	case <-w.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the export never wrote")
	}
	written := map[string]bool{}
	for i := 0; i < during; i++ {
		result := make(chan error, 1)
		go func() {
			id, err := a.submitOverHTTP(t, i)
			written[id] = true
			result <- err
		}()
		select {
		case err := <-result:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			close(w.release)
			t.Fatalf("submission %d stalled behind the open export", i)
		}
	}
	close(w.release)
	<-done
	if w.Code != http.StatusOK {
		t.Fatalf("export: %d", w.Code)
	}
	cs := exportedComments(t, w.Body.Bytes())
	if len(cs) != before {
		t.Errorf("the export holds %d comments, want the %d of its start", len(cs), before)
	}
	for _, c := range cs {
		if written[c.ID] {
			t.Errorf("comment %s, written after the export started, is in it", c.ID)
		}
	}
	if n := len(exportedComments(t, a.export(t, "format=ndjson"))); n != before+during {
		t.Errorf("after the writes the database holds %d comments, want %d", n, before+during)
	}
}

// TestBackupUnderWriteLoad downloads a backup while writers keep
// submitting, opens the file as a database and serves it: every comment in
// it is the live one, the indexes agree with the comments, and nothing
// written before the backup started is missing.
func TestBackupUnderWriteLoad(t *testing.T) {
	a := newTransferApp(t, nil)
	a.seed(t, 300)
	beforeBackup := exportedComments(t, a.export(t, "format=ndjson"))

	var stop atomic.Bool
	var writes atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if _, err := a.submitOverHTTP(t, g*100000+i); err != nil {
					errs <- err
					return
				}
				writes.Add(1)
			}
		}(g)
	}
	for writes.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	rec := a.do(t, http.MethodGet, "/api/admin/backup", a.owner, nil)
	during := writes.Load()
	for writes.Load() < during+20 {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if rec.Code != http.StatusOK {
		t.Fatalf("backup: %d %s", rec.Code, rec.Body)
	}
	// bbolt's file is measured before it is sent; PostgreSQL's dump is not.
	if got, want := rec.Header().Get("Content-Length"), fmt.Sprint(rec.Body.Len()); got != want && !(testdb.Postgres() && got == "") {
		t.Errorf("Content-Length %s, body %s bytes", got, want)
	}
	if d := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(d, `attachment; filename="parley-backup-`) {
		t.Errorf("Content-Disposition %q", d)
	}
	restored := openTransferApp(t, restoreBackup(t, rec.Body.Bytes()), nil, 0)
	backedUp := exportedComments(t, restored.export(t, "format=ndjson"))
	live := map[string][]byte{}
	for _, c := range exportedComments(t, a.export(t, "format=ndjson")) {
		live[c.ID], _ = json.Marshal(c)
	}
	if len(backedUp) < len(beforeBackup) || len(backedUp) >= len(live) {
		t.Errorf("the backup holds %d comments: want at least the %d before it and fewer than the %d after", len(backedUp), len(beforeBackup), len(live))
	}
	perPost := map[string]int{}
	for _, c := range backedUp {
		got, _ := json.Marshal(c)
		if !bytes.Equal(got, live[c.ID]) {
			t.Errorf("comment %s differs between backup and live:\n%s\n%s", c.ID, got, live[c.ID])
		}
		if c.Status == moderation.StatusApproved {
			perPost[c.Post]++
		}
	}
	for post, n := range perPost {
		var thread struct{ Count int }
		if err := json.Unmarshal(restored.do(t, http.MethodGet, "/api/comments?post="+post, "", nil).Body.Bytes(), &thread); err != nil {
			t.Fatal(err)
		}
		counts := restored.do(t, http.MethodGet, "/api/counts?post="+post, "", nil).Body.String()
		if thread.Count != n || counts != fmt.Sprintf(`{%q:%d}`, post, n) {
			t.Errorf("restored %s serves %d comments and counts %s; the backup has %d approved", post, thread.Count, counts, n)
		}
	}
	pending := restored.do(t, http.MethodGet, "/api/admin/comments?status=pending&limit=200", restored.mod, nil)
	if pending.Code != http.StatusOK || !strings.Contains(pending.Body.String(), "written during the export") {
		t.Errorf("the restored queue should hold the comments written before the backup: %d %.200s", pending.Code, pending.Body)
	}
	if rec := a.do(t, http.MethodGet, "/api/admin/backup", a.mod, nil); rec.Code != http.StatusForbidden {
		t.Errorf("a moderator's backup: %d, want 403", rec.Code)
	}
}

// restoreBackup puts a backup where a new instance opens it, as the docs
// say to restore one: bbolt's is the database file, PostgreSQL's a dump that
// parley copy writes into a database.
func restoreBackup(t *testing.T, backup []byte) (data string) {
	t.Helper()
	if !testdb.Postgres() {
		path := filepath.Join(t.TempDir(), "restored.db")
		if err := os.WriteFile(path, backup, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	data = testdb.Data(t)
	db := testdb.OpenData(t, data)
	read := func(ctx context.Context, fn func(*moderation.Record) error) error {
		return moderation.ReadDump(ctx, bytes.NewReader(backup), fn)
	}
	if _, err := moderation.Copy(context.Background(), db, read, nil); err != nil {
		t.Fatalf("restore the dump: %v", err)
	}
	return data
}
