package bolt

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func TestOpenRefusesHeldFile(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("got %v, want an in-use error", err)
	}
	if waited := time.Since(start); waited > OpenTimeout+2*time.Second {
		t.Fatalf("waited %s", waited)
	}
}

func TestOpenRefusesCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "corrupt.db")
	garbage := []byte(strings.Repeat("not a bbolt file ", 1024))
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("got %v, want a corrupt-file error", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(garbage) {
		t.Fatal("Open changed a file it could not read")
	}
}

func TestSecretIsStable(t *testing.T) {
	db, path := openTemp(t)
	a, err := db.Secret(context.Background(), "x", 32)
	if err != nil || len(a) != 32 {
		t.Fatalf("secret %x, %v", a, err)
	}
	_ = db.Close()
	db2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	b, _ := db2.Secret(context.Background(), "x", 32)
	if string(a) != string(b) {
		t.Fatal("secret changed across reopen")
	}
}
