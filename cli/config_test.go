package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCacheSizeFlag(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		want int64
	}{
		{nil, "", 64 << 20},
		{[]string{"--cache-size", "16"}, "", 16 << 20},
		{[]string{"--cache-size", "0"}, "", -1}, // off
		{nil, "8", 8 << 20},
		{[]string{"--cache-size", "2"}, "8", 2 << 20}, // the flag wins
	} {
		t.Setenv("PARLEY_CACHE_SIZE", tt.env) // restored when the test ends
		if tt.env == "" {
			os.Unsetenv("PARLEY_CACHE_SIZE")
		}
		var cfg config
		fs := newFlagSet("serve", &cfg)
		serveFlags(fs, &cfg)
		if err := parse(fs, tt.args); err != nil {
			t.Fatal(err)
		}
		if got := cfg.cacheBytes(); got != tt.want {
			t.Errorf("%v with PARLEY_CACHE_SIZE=%q: %d bytes, want %d", tt.args, tt.env, got, tt.want)
		}
	}
}

func TestNegativeCacheSizeIsAUsageError(t *testing.T) {
	var stderr bytes.Buffer
	data := filepath.Join(t.TempDir(), "parley.db")
	code := Run(context.Background(), []string{"serve", "--cache-size", "-1", "--data", data}, nil, &bytes.Buffer{}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--cache-size") {
		t.Errorf("exit %d, stderr %q; want 2 and a word about --cache-size", code, stderr.String())
	}
}
