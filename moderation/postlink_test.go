package moderation

import (
	"net/url"
	"testing"
)

func TestPostLink(t *testing.T) {
	site := []string{"https://blog.example.com", "http://old.example.com:8080"}
	for _, tc := range []struct{ post, want string }{
		{"/2026/11/hello/", "https://blog.example.com/2026/11/hello/"},
		{"/a?b=c#d", "https://blog.example.com/a?b=c#d"},
		{"https://blog.example.com/x", "https://blog.example.com/x"},
		{"HTTPS://Blog.Example.com:443/x", "https://Blog.Example.com:443/x"},
		{"http://old.example.com:8080/y", "http://old.example.com:8080/y"},
		// Shown as text:
		{"http://blog.example.com@evil.example/login", ""},
		{"https://user:pw@blog.example.com/x", ""},
		{"http://blog.example.com/x", ""}, // another scheme is another origin
		{"http://old.example.com/y", ""},  // another port
		{"https://blog.example.com.evil.example/", ""},
		{"//evil.example/x", ""},
		{"/\\evil.example/x", ""},
		{"https://blog.example.com\\@evil.example/", ""},
		{"javascript:alert(1)", ""},
		{"data:text/html,<script>alert(1)</script>", ""},
		{"JaVaScRiPt:alert(1)", ""},
		{"post-42", ""},
		{"/with space", ""},
		{"/tab\there", ""},
		{"https:blog.example.com/x", ""},
		{"", ""},
	} {
		if got := PostLink(tc.post, site); got != tc.want {
			t.Errorf("PostLink(%q) = %q, want %q", tc.post, got, tc.want)
		}
	}
	if got := PostLink("/x", nil); got != "" {
		t.Errorf("without origins a path links to %q", got)
	}
}

// FuzzPostLink: whatever the key, a link it gives is an http(s) URL without
// userinfo on one of the site's origins.
func FuzzPostLink(f *testing.F) {
	for _, s := range []string{"/a", "https://blog.example.com/x", "http://blog.example.com@evil/", "//x", "javascript:x", "/\\x"} {
		f.Add(s)
	}
	site := []string{"https://blog.example.com"}
	f.Fuzz(func(t *testing.T, post string) {
		link := PostLink(post, site)
		if link == "" {
			return
		}
		u, err := url.Parse(link)
		if err != nil || u.User != nil || !sameOrigin(u, site[0]) {
			t.Fatalf("PostLink(%q) = %q leaves the site", post, link)
		}
	})
}
