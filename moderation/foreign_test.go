package moderation

import (
	"regexp"
	"strings"
	"testing"
)

func TestFromHTML(t *testing.T) {
	s := &Service{renderer: NewRenderer()}
	for _, c := range []struct{ in, text, html string }{
		{"Hello\nworld\n\nSecond", "Hello\nworld\n\nSecond", "<p>Hello<br>\nworld</p>\n<p>Second</p>\n"},
		{"<p>One</p><p>Two <b>bold</b> <i>it</i></p>", "One\n\nTwo **bold** *it*", "<p>One</p>\n<p>Two <strong>bold</strong> <em>it</em></p>\n"},
		{`<a href="https://x.example/a?b=1&amp;c=2" target="_blank" rel="external">site</a>`, "[site](https://x.example/a?b=1&c=2)",
			`<p><a href="https://x.example/a?b=1&amp;c=2" rel="nofollow ugc noopener">site</a></p>` + "\n"},
		{`<a href="javascript:alert(1)">x</a><script>alert(2)</script><iframe src="https://evil"></iframe>`, "x", "<p>x</p>\n"},
		{"<pre>a\n\n  b &lt;c&gt;</pre>after", "```\na\n\n  b <c>\n```\n\nafter", "<pre>a\n\n  b &lt;c&gt;</pre>\n<p>after</p>\n"},
		{"<blockquote><p>quoted</p><p>twice</p></blockquote>reply", "> quoted\n>\n> twice\n\nreply", "<blockquote>\n<p>quoted</p>\n<p>twice</p>\n</blockquote>\n<p>reply</p>\n"},
		{"Caf&eacute; &amp; cr&egrave;me &#x1F600;", "Café & crème 😀", "<p>Café &amp; crème 😀</p>\n"},
	} {
		text, html, err := s.fromHTML(c.in)
		if err != nil || text != c.text || html != c.html {
			t.Errorf("fromHTML(%q):\n got %q %q %v\nwant %q %q", c.in, text, html, err, c.text, c.html)
		}
	}
}

// unsafeHTML finds what must never survive: active elements, event
// handler attributes and script URLs inside tags.
var unsafeHTML = regexp.MustCompile(`(?i)<(script|iframe|img|style|object)|<[^>]*(\son\w+=|javascript:)`)

// FuzzFromHTML: whatever another system's body holds, what Parley keeps is
// safe HTML that the policy leaves as it is.
func FuzzFromHTML(f *testing.F) {
	for _, seed := range []string{"plain\n\ntext", "<p onclick=x>a<script>b</script></p>", `<a href="javascript:x">y</a>`,
		"<pre>a\n\nb", "<ul><li><ul><li>deep", "<img src=x onerror=alert(1)>", "<<p>>", "</p></div>text<p"} {
		f.Add(seed)
	}
	s := &Service{renderer: NewRenderer()}
	f.Fuzz(func(t *testing.T, in string) {
		text, html, err := s.fromHTML(in)
		if err != nil {
			return
		}
		if unsafeHTML.MatchString(html) {
			t.Errorf("unsafe HTML kept: %q → %q", in, html)
		}
		if again := s.renderer.Sanitize(html); again != html {
			t.Errorf("sanitizing again changes %q to %q", html, again)
		}
		_ = strings.TrimSpace(text)
	})
}
