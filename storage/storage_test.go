package storage

import "testing"

// A password in --data never reaches a log line or a message.
func TestRedacted(t *testing.T) {
	for data, want := range map[string]string{
		"./parley.db":                                "./parley.db",
		"/var/lib/parley/parley.db":                  "/var/lib/parley/parley.db",
		"postgres://parley:s3cret@db:5432/parley":    "postgres://parley:xxxxx@db:5432/parley",
		"postgresql://parley:s3cret@db/parley?x=1":   "postgresql://parley:xxxxx@db/parley?x=1",
		"postgres://parley@db/parley":                "postgres://parley@db/parley",
		"postgres://parley:s3cret@db:bad port/parly": "postgres://(unreadable URL)",
	} {
		if got := Redacted(data); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", data, got, want)
		}
	}
}
