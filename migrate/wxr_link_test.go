package migrate_test

import (
	"bytes"
	"encoding/xml"
	"testing"
	"time"

	"parley/migrate"
	"parley/moderation"
)

// The WXR export writes an item's <link> only for a key that is a page of
// the site: a path joined to the site's origin, or a URL on that origin.
// Any other key (a URL elsewhere, userinfo, javascript:, data:, a
// scheme-relative //host) gets no <link>, and without a site no key does.
func TestWXRLinksOnlyTheSite(t *testing.T) {
	keys := []string{
		"/p/",
		"https://blog.example.com/q",
		"http://blog.example.com@evil.example/login",
		"javascript:alert(1)",
		"data:text/html,x",
		"//evil.example/x",
		"https://evil.example/",
		"post-42",
	}
	for _, tc := range []struct {
		site, channel string
		links         map[string]string // post key → <link>; missing: none
	}{
		{"https://blog.example.com", "https://blog.example.com", map[string]string{
			"/p/": "https://blog.example.com/p/", "https://blog.example.com/q": "https://blog.example.com/q"}},
		{"", "", map[string]string{}},
		{"javascript:alert(1)", "", map[string]string{}},
		{"https://user@blog.example.com", "", map[string]string{}},
	} {
		var buf bytes.Buffer
		enc, err := migrate.NewEncoder(migrate.WXR, &buf, migrate.EncodeOptions{Exported: time.Unix(0, 0), SiteURL: tc.site})
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			c := &moderation.Comment{ID: "c" + string(rune('a'+i)), Post: k, Author: "Ada", Body: "Hi", HTML: "<p>Hi</p>",
				Status: moderation.StatusApproved, Created: time.Unix(0, 0)}
			if err := enc.Encode(c); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Channel struct {
				Link  string `xml:"link"`
				Items []struct {
					Links []string `xml:"link"`
					GUID  string   `xml:"guid"`
				} `xml:"item"`
			} `xml:"channel"`
		}
		if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("site %q: %v\n%s", tc.site, err, buf.Bytes())
		}
		if doc.Channel.Link != tc.channel {
			t.Errorf("site %q: channel link %q, want %q", tc.site, doc.Channel.Link, tc.channel)
		}
		if len(doc.Channel.Items) != len(keys) {
			t.Fatalf("site %q: %d items", tc.site, len(doc.Channel.Items))
		}
		for _, it := range doc.Channel.Items {
			want, linked := tc.links[it.GUID]
			switch {
			case linked && (len(it.Links) != 1 || it.Links[0] != want):
				t.Errorf("site %q, key %q: links %q, want %q", tc.site, it.GUID, it.Links, want)
			case !linked && len(it.Links) != 0:
				t.Errorf("site %q, key %q: links %q, want none", tc.site, it.GUID, it.Links)
			}
		}
	}
}
