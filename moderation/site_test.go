package moderation

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestCommentReadsTheOldSiteFlag: before sites, "site": true marked a reply
// posted as the site; such exports stay importable.
func TestCommentReadsTheOldSiteFlag(t *testing.T) {
	for _, tt := range []struct {
		in     string
		site   string
		bySite bool
	}{
		{`{"id":"a","site":true}`, "", true},
		{`{"id":"a","site":false}`, "", false},
		{`{"id":"a"}`, "", false},
		{`{"id":"a","site":"blog","by_site":true}`, "blog", true},
	} {
		var c Comment
		if err := json.Unmarshal([]byte(tt.in), &c); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if c.ID != "a" || c.Site != tt.site || c.BySite != tt.bySite {
			t.Errorf("%s: site %q by_site %v", tt.in, c.Site, c.BySite)
		}
	}
	out, _ := json.Marshal(&Comment{ID: "a", Site: "blog", BySite: true})
	var back Comment
	if err := json.Unmarshal(out, &back); err != nil || back.Site != "blog" || !back.BySite {
		t.Errorf("round trip %s: %+v %v", out, back, err)
	}
}

// TestSiteCheck: ids are slugs, origins are put in normal form, settings
// are bounded, and a site's settings override the instance's.
func TestSiteCheck(t *testing.T) {
	links := 5
	theme := "dark"
	s := Site{ID: "my-blog", Origins: []string{"HTTPS://Blog.Example:443/", "https://blog.example", "http://www.blog.example:8080"},
		Settings: SiteSettings{MaxLinks: &links, Theme: &theme}}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if len(s.Origins) != 2 || s.Origins[0] != "http://www.blog.example:8080" || s.Origins[1] != "https://blog.example" || s.Name != "my-blog" {
		t.Errorf("origins %v name %q", s.Origins, s.Name)
	}
	eff := s.Settings.In(DefaultSettings())
	if eff.MaxLinks != 5 || eff.Theme != "dark" || eff.MinFillSeconds != DefaultSettings().MinFillSeconds {
		t.Errorf("effective %+v", eff)
	}
	bad := -7
	lang := "english!"
	for _, b := range []Site{
		{ID: "Blog"}, {ID: ""}, {ID: "a/b"}, {ID: "x", Origins: []string{"blog.example"}},
		{ID: "x", Origins: []string{"https://blog.example/path"}}, {ID: "x", Settings: SiteSettings{MaxLinks: &bad}},
		{ID: "x", Settings: SiteSettings{Language: &lang}},
	} {
		var ve *ValidationError
		if err := b.Check(); !errors.As(err, &ve) {
			t.Errorf("%+v: %v, want a validation error", b, err)
		}
	}
}

// TestSiteRoles: owners act everywhere; a moderator only on their sites,
// and administers only where they are admin.
func TestSiteRoles(t *testing.T) {
	owner := Actor{Role: RoleOwner}
	mod := Actor{Role: RoleModerator, Sites: map[string]SiteRole{"a": SiteModerator, "b": SiteAdmin}}
	for _, tt := range []struct {
		a                  Actor
		site               string
		moderates, governs bool
	}{
		{owner, "zzz", true, true}, {mod, "a", true, false}, {mod, "b", true, true}, {mod, "c", false, false},
	} {
		if tt.a.Moderates(tt.site) != tt.moderates || tt.a.Administers(tt.site) != tt.governs {
			t.Errorf("%+v on %s: moderates %v administers %v", tt.a, tt.site, tt.a.Moderates(tt.site), tt.a.Administers(tt.site))
		}
	}
	if err := mayModerate(mod, "c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another site is %v, want ErrNotFound", err)
	}
}
