package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/storage/testdb"
)

// TestSpamEvaluate replays the labelled fixture (30 genuine, 30 spam, in time
// order) and checks the figures: nothing is filed before 20 decisions of
// each class, genuine comments are never lost, spam after that is caught.
func TestSpamEvaluate(t *testing.T) {
	fixture := filepath.Join("testdata", "spam-history.ndjson")
	code, out, errOut := runSpamCLI(t, "spam", "evaluate", "--learn-first", "0.5", "--threshold", "0.5,0.9", fixture)
	want := "60 labelled comments; learned the first 30, then measured 30: 15 spam, 15 genuine\n" +
		"threshold 0.5: spam caught 10 of 15 (66.67%), genuine comments lost 0 of 15 (0.00%)\n" +
		"threshold 0.9: spam caught 10 of 15 (66.67%), genuine comments lost 0 of 15 (0.00%)\n"
	if code != 0 || out != want {
		t.Fatalf("evaluate: exit %d\n%s%s\nwant\n%s", code, out, errOut, want)
	}
	// Measured from the start, the first 40 decisions only teach.
	if code, out, _ := runSpamCLI(t, "spam", "evaluate", fixture); code != 0 || !strings.Contains(out, "spam caught 10 of 30 (33.33%), genuine comments lost 0 of 30") {
		t.Fatalf("evaluate from the start: %d %s", code, out)
	}

	bad := filepath.Join(t.TempDir(), "bad.ndjson")
	if err := os.WriteFile(bad, []byte(`{"status":"spam","body":"x"}`+"\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"spam", "evaluate", bad}, {"spam", "evaluate", "--threshold", "2", fixture},
		{"spam", "evaluate", "--learn-first", "1", fixture}, {"spam", "evaluate"}, {"spam"}} {
		code, _, errOut := runSpamCLI(t, args...)
		if code != 2 || errOut == "" {
			t.Errorf("parley %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
		}
	}
	if _, _, errOut := runSpamCLI(t, "spam", "evaluate", bad); !strings.Contains(errOut, "line 2") {
		t.Errorf("a bad line is not named: %q", errOut)
	}
}

// TestSpamRetrain imports the fixture, whose decisions the classifier learns
// as they arrive, and rebuilds the model with parley spam retrain.
func TestSpamRetrain(t *testing.T) {
	data := testdb.Data(t)
	if code, _, errOut := runSpamCLI(t, "import", "--data", data, "--format", "ndjson", filepath.Join("testdata", "spam-history.ndjson")); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	code, out, errOut := runSpamCLI(t, "spam", "retrain", "--data", data)
	if code != 0 || out != "the classifier learned 30 genuine and 30 spam comments\n" || errOut != "" {
		t.Fatalf("retrain: %d %q %q", code, out, errOut)
	}
	if code, _, _ := runSpamCLI(t, "spam", "retrain", "extra", "--data", data); code != 2 {
		t.Errorf("retrain with an argument: exit %d", code)
	}
}

// TestSpamThresholdFlag reads --spam-threshold and its twin
// PARLEY_SPAM_THRESHOLD, and refuses a threshold outside (0, 1].
func TestSpamThresholdFlag(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		want float64
	}{
		{nil, "", 0.9},
		{[]string{"--spam-threshold", "0.97"}, "", 0.97},
		{nil, "0.8", 0.8},
		{[]string{"--spam-threshold", "1"}, "0.8", 1}, // the flag wins
	} {
		t.Setenv("PARLEY_SPAM_THRESHOLD", tt.env)
		if tt.env == "" {
			os.Unsetenv("PARLEY_SPAM_THRESHOLD")
		}
		var cfg config
		fs := newFlagSet("serve", &cfg)
		serveFlags(fs, &cfg)
		if err := parse(fs, tt.args); err != nil {
			t.Fatal(err)
		}
		if err := cfg.spam.resolve(); err != nil || cfg.spam.threshold != tt.want {
			t.Errorf("%v with PARLEY_SPAM_THRESHOLD=%q: %v (%v), want %v", tt.args, tt.env, cfg.spam.threshold, err, tt.want)
		}
	}
	data := filepath.Join(t.TempDir(), "parley.db")
	for _, bad := range []string{"0", "1.5", "-0.1"} {
		code, _, errOut := runSpamCLI(t, "serve", "--spam-threshold", bad, "--data", data)
		if code != 2 || !strings.Contains(errOut, "--spam-threshold") {
			t.Errorf("--spam-threshold %s: exit %d, %q", bad, code, errOut)
		}
	}
}
