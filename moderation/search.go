package moderation

import "strings"

// MaxSearch is the longest search moderators can type, in bytes.
const MaxSearch = 200

// Matches reports whether c is one of the comments q.Search asks for: the
// search appears, ignoring case, in the author, email, website or raw text,
// or is exactly the IP hash (to find everything from one client). An empty
// search matches every comment.
func (q Query) Matches(c *Comment) bool {
	if q.Search == "" {
		return true
	}
	term := strings.ToLower(q.Search)
	if c.IPHash != "" && c.IPHash == term {
		return true
	}
	for _, field := range []string{c.Author, c.Email, c.Website, c.Body} {
		if strings.Contains(strings.ToLower(field), term) {
			return true
		}
	}
	return false
}
