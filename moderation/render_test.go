package moderation

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestRender(t *testing.T) {
	r := NewRenderer()
	tests := []struct {
		name, body, want string
	}{
		{"emphasis", "Hello *world* and **bold**", "<p>Hello <em>world</em> and <strong>bold</strong></p>\n"},
		{"line breaks", "one\ntwo", "<p>one<br>\ntwo</p>\n"},
		{"raw HTML shows as text", "a <b>tag</b>", "<p>a &lt;b&gt;tag&lt;/b&gt;</p>\n"},
		{"script shows as text", "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"},
		{"autolink", "see https://example.com/x", `<p>see <a href="https://example.com/x" rel="nofollow ugc noopener">https://example.com/x</a></p>` + "\n"},
		{"link", "[home](https://example.com)", `<p><a href="https://example.com" rel="nofollow ugc noopener">home</a></p>` + "\n"},
		{"javascript link loses its href", "[x](javascript:alert(1))", `<p><a rel="nofollow ugc noopener">x</a></p>` + "\n"},
		{"image becomes a link", "![cat](https://example.com/c.png)", `<p><a href="https://example.com/c.png" rel="nofollow ugc noopener">cat</a></p>` + "\n"},
		{"no headings", "# not a heading", "<p># not a heading</p>\n"},
		{"quote", "> wise", "<blockquote>\n<p>wise</p>\n</blockquote>\n"},
		{"list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"code", "`x < y`", "<p><code>x &lt; y</code></p>\n"},
		{"code block", "    go run .", "<pre><code>go run .\n</code></pre>\n"},
		{"inline event handler", `<img src=x onerror="alert(1)">`, "<p>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</p>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Render(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Render(%q)\n got %q\nwant %q", tt.body, got, tt.want)
			}
		})
	}
}

// allowed is the whole vocabulary a rendered comment may use.
var allowed = map[string]map[string]bool{
	"p": {}, "br": {}, "em": {}, "strong": {}, "del": {}, "code": {}, "pre": {}, "blockquote": {},
	"ul": {}, "ol": {"start": true}, "li": {}, "hr": {}, "a": {"href": true, "rel": true},
}

var safeSchemes = map[string]bool{"http": true, "https": true, "mailto": true}

// FuzzRender checks that whatever a commenter types, the HTML readers get
// uses only the allowed elements and attributes, and links only to safe schemes.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"*a*", "<script>x</script>", "[a](javascript:x)", "<a href=x onclick=y>", "![i](data:x)",
		"https://x.y", "<svg onload=alert(1)>", "`<b>`", "> q\n- l", "[a](https://x \"t\")", "<!-- c -->", "&lt;b&gt;"} {
		f.Add(s)
	}
	r := NewRenderer()
	f.Fuzz(func(t *testing.T, body string) {
		out, err := r.Render(body)
		if err != nil {
			t.Fatal(err)
		}
		z := html.NewTokenizer(strings.NewReader(out))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				return
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			attrs, ok := allowed[tok.Data]
			if !ok {
				t.Fatalf("element <%s> in %q", tok.Data, out)
			}
			for _, a := range tok.Attr {
				if !attrs[a.Key] {
					t.Fatalf("attribute %s on <%s> in %q", a.Key, tok.Data, out)
				}
				if u, err := url.Parse(a.Val); a.Key == "href" && (err != nil || !safeSchemes[strings.ToLower(u.Scheme)]) {
					t.Fatalf("unsafe href %q in %q", a.Val, out)
				}
				if a.Key == "rel" && a.Val != linkRel {
					t.Fatalf("rel %q in %q", a.Val, out)
				}
			}
		}
	})
}
