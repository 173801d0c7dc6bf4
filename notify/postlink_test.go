package notify_test

import (
	"encoding/json"
	"strings"
	"testing"

	"parley/moderation"
	"parley/notify"
)

// A post key that is not a page of the blog (here one that reads as the
// blog and opens evil.example) is never a link: not in the moderator's
// email, not in the "published" email to an address the commenter typed,
// and not in the webhook, whose post_url is empty. A key on the blog is.
func TestPostKeysLinkOnlyToTheBlog(t *testing.T) {
	ms, hook, a := startMailAndHook(t)
	a.addModerator(t, "alice", "alice@example.com", moderation.EmailImmediate)

	const hostile = "http://blog.example@evil.example/login"
	for i, tc := range []struct{ post, link string }{
		{hostile, ""},
		{"javascript:alert(1)", ""},
		{"//evil.example/x", ""},
		{"https://blog.example/posts/ok", "https://blog.example/posts/ok"},
	} {
		id := a.submit(t, with(ada, "post", tc.post, "notify_published", true))
		mod := ms.next(t)
		hook.wait(t, i+1)
		a.moderate(t, id, "approve")
		published := ms.next(t)

		var p notify.Payload
		if err := json.Unmarshal(hook.bodies[i], &p); err != nil {
			t.Fatal(err)
		}
		if p.Comment.PostURL != tc.link || !strings.Contains(string(hook.bodies[i]), `"post_url":"`+tc.link+`"`) {
			t.Errorf("%s: webhook post_url %q, want %q", tc.post, p.Comment.PostURL, tc.link)
		}
		for name, text := range map[string]string{
			"moderator email": mod.Subject + "\n" + mod.Body, "published email": published.Subject + "\n" + published.Body,
			"webhook text": p.Text + "\n" + p.Content,
		} {
			if tc.link != "" {
				if !strings.Contains(text, tc.link) {
					t.Errorf("%s: the %s does not link the post:\n%s", tc.post, name, text)
				}
				continue
			}
			if strings.Contains(text, "evil.example") || strings.Contains(text, "javascript:") {
				t.Errorf("%s: the %s shows a linkable key:\n%s", tc.post, name, text)
			}
			if !strings.Contains(text, "evil[.]example") && !strings.Contains(text, "javascript[:]") {
				t.Errorf("%s: the %s does not name the post at all:\n%s", tc.post, name, text)
			}
		}
	}
	a.settled(t)
}
