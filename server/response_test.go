package server

import (
	"net/http"
	"slices"
	"testing"
)

// TestAddVaryEncoding: Accept-Encoding joins whatever Vary an answer has,
// and the values shared between answers are never changed by a later Add.
func TestAddVaryEncoding(t *testing.T) {
	for _, tc := range []struct{ before, want []string }{
		{nil, []string{"Accept-Encoding"}},
		{[]string{"Origin"}, []string{"Origin", "Accept-Encoding"}},
		{[]string{"Cookie"}, []string{"Cookie", "Accept-Encoding"}},
		{[]string{"Origin", "Cookie"}, []string{"Origin", "Cookie", "Accept-Encoding"}},
	} {
		h := http.Header{}
		if tc.before != nil {
			h["Vary"] = slices.Clone(tc.before)
		}
		addVaryEncoding(h)
		if got := h.Values("Vary"); !slices.Equal(got, tc.want) {
			t.Errorf("Vary %q + Accept-Encoding = %q, want %q", tc.before, got, tc.want)
		}
		h.Add("Vary", "Cookie")
	}
	if !slices.Equal(varyEncoding, []string{"Accept-Encoding"}) || !slices.Equal(varyOriginEncoding, []string{"Origin", "Accept-Encoding"}) {
		t.Errorf("shared Vary values changed: %q, %q", varyEncoding, varyOriginEncoding)
	}
}
