package e2e

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"parley/storage/bolt"
)

// startFails runs a command that must refuse to start: it must exit 1
// promptly with a message naming the file and saying what is wrong.
func startFails(t *testing.T, bin, data, want string, args ...string) {
	t.Helper()
	start := time.Now()
	_, stderr, code := runParley(t, bin, append(args, "--data", data)...)
	took := time.Since(start)
	if code != 1 {
		t.Errorf("parley %s exited %d, want 1; stderr:\n%s", args[0], code, stderr)
	}
	if !strings.Contains(stderr, data) || !strings.Contains(stderr, want) {
		t.Errorf("parley %s said:\n%s\nwant the file's name and %q", args[0], stderr, want)
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("parley %s crashed instead of explaining:\n%s", args[0], stderr)
	}
	if limit := bolt.OpenTimeout + 10*time.Second; took > limit {
		t.Errorf("parley %s took %v to give up, more than %v", args[0], took, limit)
	}
}

var serveOnAnyPort = []string{"serve", "--addr", "127.0.0.1:0"}

func TestStartRefusesAFileHeldByAnotherProcess(t *testing.T) {
	bin := buildParley(t)
	data := filepath.Join(t.TempDir(), "parley.db")
	startParley(t, bin, data)
	startFails(t, bin, data, "in use by another process", serveOnAnyPort...)
	startFails(t, bin, data, "in use by another process", "token", "create", "--name", "x")
}

// TestStartRefusesACorruptFile tries files that are not whole databases:
// each must be refused with a clear message and left exactly as it was.
func TestStartRefusesACorruptFile(t *testing.T) {
	bin := buildParley(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	parleyToken(t, bin, good)
	valid, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 64<<10)
	_, _ = rand.Read(noise)
	zeroed := bytes.Clone(valid)
	clear(zeroed[2*4096:]) // both meta pages intact, every other page gone
	for name, content := range map[string][]byte{
		"random bytes": noise,
		"a text file":  []byte("these are my notes, not a database\n"),
		// bbolt grows files ahead of their data, so cut into the pages in use.
		"cut short":    valid[:3*4096+100],
		"one page":     valid[:4096],
		"pages zeroed": zeroed,
	} {
		t.Run(name, func(t *testing.T) {
			data := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".db")
			if err := os.WriteFile(data, content, 0o600); err != nil {
				t.Fatal(err)
			}
			startFails(t, bin, data, "Parley database", serveOnAnyPort...)
			if after, _ := os.ReadFile(data); !bytes.Equal(after, content) {
				t.Errorf("refusing the file changed it (%d bytes, were %d)", len(after), len(content))
			}
		})
	}
}

// TestStartRefusesAReadOnlyPlace: a new database in a directory that cannot
// be written, and an existing one on a read-only file system, are each
// refused with a message saying so. As root, where permissions do not bind,
// the directory is a read-only tmpfs; elsewhere it is chmod 0555.
func TestStartRefusesAReadOnlyPlace(t *testing.T) {
	bin := buildParley(t)
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing.db")
	if os.Geteuid() == 0 {
		mountTmpfs(t, dir, "size=4m")
		parleyToken(t, bin, existing)
		if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			t.Fatalf("remount read-only: %v", err)
		}
	} else {
		parleyToken(t, bin, existing)
		if err := os.Chmod(existing, 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	}
	startFails(t, bin, filepath.Join(dir, "new.db"), "directory is read-only or not writable", serveOnAnyPort...)
	startFails(t, bin, existing, "no permission to read and write it", serveOnAnyPort...)
}

// mountTmpfs mounts a fresh tmpfs on dir for the test (root only).
func mountTmpfs(t *testing.T, dir, options string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, options); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
}
