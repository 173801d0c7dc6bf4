package moderation

import (
	"net/url"
	"strings"
)

// PostLink returns the address of a post's page when its key resolves to
// one of the site's origins, else "": the key is then shown as text, never
// as a link. A key resolves when it is
//
//   - a path ("/2026/hello/"): joined to the first origin; or
//   - an absolute http(s) URL with no userinfo whose origin is one of
//     origins.
//
// Anything else, such as "http://blog.example@evil.example/login",
// "//evil.example/x", "javascript:…" or an opaque id, gets no link: post keys
// come from anyone who can post a comment, and a link in the admin page, an
// email or a webhook must not lead a moderator or a commenter off the site.
// origins are the site's, like "https://blog.example.com"; every place that
// links a post key calls this with the same list.
func PostLink(post string, origins []string) string {
	if len(origins) == 0 || post == "" || strings.ContainsFunc(post, unsafeInKey) {
		return ""
	}
	raw := post
	if strings.HasPrefix(post, "/") && !strings.HasPrefix(post, "//") {
		raw = strings.TrimRight(origins[0], "/") + post
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	for _, o := range origins {
		if sameOrigin(u, o) {
			return u.String()
		}
	}
	return ""
}

// unsafeInKey rejects what a browser reads differently from Go's parser:
// backslashes (read as slashes), white space and control characters.
func unsafeInKey(r rune) bool { return r == '\\' || r <= ' ' || r == 0x7f }

// sameOrigin reports whether u is on origin o, comparing scheme and host
// without case and without the scheme's default port.
func sameOrigin(u *url.URL, o string) bool {
	ou, err := url.Parse(strings.TrimRight(o, "/"))
	if err != nil || ou.Host == "" {
		return false
	}
	return strings.EqualFold(u.Scheme, ou.Scheme) && hostPort(u) == hostPort(ou)
}

func hostPort(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || (port == "443" && strings.EqualFold(u.Scheme, "https")) || (port == "80" && strings.EqualFold(u.Scheme, "http")) {
		return host
	}
	return host + ":" + port
}

// SiteOrigins is the list of origins to give PostLink: the blog origins
// Parley is configured with, or, when there are none, the origin of
// publicURL, since the widget then runs on Parley's own origin.
func SiteOrigins(origins []string, publicURL string) []string {
	if len(origins) > 0 {
		return origins
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return nil
	}
	return []string{u.Scheme + "://" + u.Host}
}
