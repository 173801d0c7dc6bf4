package bolt

import (
	"path/filepath"
	"testing"

	"parley/moderation"
	"parley/storage/storetest"
)

// TestContract holds bbolt to the whole of moderation.Store. After each
// case, the file's own indexes must still agree with its comments.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) moderation.Store {
		db, err := Open(filepath.Join(t.TempDir(), "parley.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := db.Check(t.Context()); err != nil {
				t.Error(err)
			}
			if err := db.Close(); err != nil {
				t.Error(err)
			}
		})
		return db
	})
}
