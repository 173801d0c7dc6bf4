package server

import (
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The admin queue links a post only when its key is a page of the blog; any
// other key is shown as text.
func TestAdminQueueLinksOnlyTheBlog(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	keys := []string{
		"/posts/ok/",
		"http://127.0.0.1:8080/absolute",
		"http://127.0.0.1:8080@evil.example/login",
		"//evil.example/x",
		"javascript:alert(1)",
		"https://evil.example/",
	}
	for _, k := range keys {
		e.submit(k, "Ada", "Hello there")
	}
	cookie, _ := e.login("admin")
	page := e.do(request{method: http.MethodGet, path: "/admin", cookie: cookie})
	if page.Code != http.StatusOK {
		t.Fatalf("queue: %d", page.Code)
	}
	var hrefs []string
	for _, m := range regexp.MustCompile(`<a href="([^"]*)" target="_blank"`).FindAllStringSubmatch(page.Body.String(), -1) {
		hrefs = append(hrefs, html.UnescapeString(m[1]))
	}
	want := []string{"http://127.0.0.1:8080/posts/ok/", "http://127.0.0.1:8080/absolute"}
	slices.Sort(hrefs)
	slices.Sort(want)
	if !slices.Equal(hrefs, want) {
		t.Errorf("post links %q, want %q", hrefs, want)
	}
	for _, k := range keys[2:] {
		if !strings.Contains(html.UnescapeString(page.Body.String()), k) {
			t.Errorf("the key %q is not shown as text", k)
		}
	}
}
