package testdb

import (
	"errors"
	"path/filepath"
	"testing"

	"parley/moderation"
	"parley/storage"
)

func TestMain(m *testing.M) { Main(m) }

// A fresh store holds the default site and keeps what is written to it;
// each test has its own.
func TestOpen(t *testing.T) {
	first, second := Open(t), Open(t)
	if _, err := first.Site(t.Context(), moderation.DefaultSite); err != nil {
		t.Fatalf("the default site: %v", err)
	}
	m := &moderation.Moderator{Name: "ada", Role: moderation.RoleOwner}
	if err := first.CreateModerator(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Moderator(t.Context(), "ada"); err != nil {
		t.Errorf("read back: %v", err)
	}
	if _, err := second.Moderator(t.Context(), "ada"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("another test's store holds ada: %v", err)
	}
}

func TestDataFollowsTheEnvironment(t *testing.T) {
	t.Setenv(EnvStore, "")
	if data := Data(t); storage.IsURL(data) || !filepath.IsAbs(data) || filepath.Base(data) != "parley.db" {
		t.Errorf("default Data = %q, want a file in the test's temporary directory", data)
	}
	t.Setenv(EnvStore, "postgress")
	defer func() {
		if recover() == nil {
			t.Error("a misspelt backend was taken for bbolt")
		}
	}()
	Postgres()
}
