package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/bolt"
)

// TestFullDiskRefusesWritesAndKeepsReading runs the server on a 2 MiB tmpfs,
// fills it, and checks that submissions and moderation fail with the 507
// JSON error (never a 500, never a hang), that readers keep getting threads
// and counts, and that writes work again once space is freed, with nothing
// acknowledged lost. It needs root to mount the tmpfs.
func TestFullDiskRefusesWritesAndKeepsReading(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("full-disk test skipped: it mounts a small tmpfs and needs root (run the tests as root, as .ci/run does)")
	}
	bin := buildParley(t)
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, dir, "size=2m")
	data := filepath.Join(dir, "parley.db")
	token := parleyToken(t, bin, data)
	p := startParley(t, bin, data)
	ctx := context.Background()

	submit := func(body string) parleyAnswer {
		t.Helper()
		res, err := callParley(ctx, http.MethodPost, p.URL+"/api/comments", "", map[string]string{
			"post": "/full", "author": "Ada", "email": "ada@example.com", "body": body})
		if err != nil {
			t.Fatalf("submit: %v", err)
		}
		return res
	}
	approve := func(id string) parleyAnswer {
		t.Helper()
		res, err := callParley(ctx, http.MethodPost, p.URL+"/api/admin/comments/"+id+"/approve", token, nil)
		if err != nil {
			t.Fatalf("approve: %v", err)
		}
		return res
	}
	read := func(path string) parleyAnswer {
		t.Helper()
		res, err := callParley(ctx, http.MethodGet, p.URL+path, "", nil)
		if err != nil || res.status != http.StatusOK {
			t.Fatalf("GET %s with the disk full: %d %v %v", path, res.status, res.body, err)
		}
		return res
	}

	var acked []string
	for i := range 5 {
		res := submit(fmt.Sprintf("before the disk filled, %d", i))
		if res.status != http.StatusAccepted {
			t.Fatalf("submit on an empty disk: %d %v", res.status, res.body)
		}
		acked = append(acked, res.body["id"].(string))
	}
	for _, id := range acked[:3] {
		if res := approve(id); res.status != http.StatusOK {
			t.Fatalf("approve: %d %v", res.status, res.body)
		}
	}

	filler := fillDisk(t, dir)
	// bbolt reuses pages it freed earlier, so a few writes may still fit;
	// within a few dozen the file must grow and fail.
	refused := 0
	for i := 0; i < 100 && refused < 5; i++ {
		res := submit(fmt.Sprintf("while the disk is full, %d", i))
		switch res.status {
		case http.StatusAccepted:
			acked = append(acked, res.body["id"].(string))
		case http.StatusInsufficientStorage:
			refused++
			if code := answerCode(res); code != string(moderation.CodeStorageFull) {
				t.Fatalf("507 with error code %q, want %q: %v", code, moderation.CodeStorageFull, res.body)
			}
		default:
			t.Fatalf("submit on a full disk: %d %v, want 202 or 507", res.status, res.body)
		}
	}
	if refused == 0 {
		t.Fatal("100 submissions fitted on a full disk: the disk never filled")
	}
	t.Logf("disk full: %d submissions fitted in freed pages, then 507", len(acked)-5)
	// Moderation may fit in freed pages too; if not, it is the same 507.
	approved := 3
	switch res := approve(acked[3]); {
	case res.status == http.StatusOK:
		approved++
	case res.status != http.StatusInsufficientStorage || answerCode(res) != string(moderation.CodeStorageFull):
		t.Errorf("approve on a full disk: %d %v, want 200 or 507 insufficient_storage", res.status, res.body)
	}
	thread := read("/api/comments?post=/full")
	if n, _ := thread.body["count"].(float64); int(n) != approved {
		t.Errorf("the thread shows %v comments with the disk full, want %d", thread.body["count"], approved)
	}
	read("/api/counts?post=/full&post=/other")
	if res, err := callParley(ctx, http.MethodGet, p.URL+"/api/admin/comments?status=pending", token, nil); err != nil || res.status != http.StatusOK {
		t.Errorf("the moderation queue with the disk full: %d %v %v", res.status, res.body, err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	res := submit("after space was freed")
	if res.status != http.StatusAccepted {
		t.Fatalf("submit after freeing space: %d %v", res.status, res.body)
	}
	acked = append(acked, res.body["id"].(string))
	if res := approve(acked[4]); res.status != http.StatusOK {
		t.Fatalf("approve after freeing space: %d %v", res.status, res.body)
	}
	if n, _ := read("/api/comments?post=/full").body["count"].(float64); int(n) != approved+1 {
		t.Errorf("after approving one more comment the thread shows %v, want %d", n, approved+1)
	}

	p.signal(t, syscall.SIGTERM, 30*time.Second)
	db, err := bolt.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range acked {
		if _, err := db.Comment(ctx, moderation.DefaultSite, id); err != nil {
			t.Errorf("acknowledged comment %s: %v", id, err)
		}
	}
}

// fillDisk writes a file in dir until the file system has no space left,
// and returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			return path
		}
	}
}

// answerCode is the code of a JSON error answer.
func answerCode(res parleyAnswer) string {
	e, _ := res.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}
