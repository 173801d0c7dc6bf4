package notify_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"parley/moderation"
)

func TestCommentersOptInAndUnsubscribe(t *testing.T) {
	ms := startMailServer(t, "127.0.0.1:0", nil, false)
	a := startApp(t, appOptions{}, smtpTo(ms))

	parent := a.submit(t, with(ada, "notify_published", true, "notify_replies", true))
	silent := a.submit(t, map[string]any{"post": "/posts/hello", "author": "Bob", "email": "bob@example.com", "body": "No mail, thanks."})
	a.moderate(t, parent, "approve")
	a.moderate(t, silent, "approve")

	m := ms.next(t)
	if !slices.Equal(m.To, []string{"ada@example.com"}) || m.Subject != "Your comment on /posts/hello is published" {
		t.Fatalf("published mail %q to %v", m.Subject, m.To)
	}
	unsubscribe := strings.Trim(m.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsubscribe, a.URL+"/unsubscribe/") || m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe %q, -Post %q", m.Header.Get("List-Unsubscribe"), m.Header.Get("List-Unsubscribe-Post"))
	}
	if !strings.Contains(m.Body, unsubscribe) {
		t.Fatalf("the body has no unsubscribe link:\n%s", m.Body)
	}

	// A reply by someone else tells the parent's author; Bob, who did not
	// opt in, hears nothing of his comment, nor of replies to it.
	reply := a.submit(t, map[string]any{"post": "/posts/hello", "parent": parent, "author": "Carl", "email": "carl@example.com", "body": "Welcome!"})
	toBob := a.submit(t, map[string]any{"post": "/posts/hello", "parent": silent, "author": "Carl", "email": "carl@example.com", "body": "Hi Bob"})
	a.moderate(t, reply, "approve")
	a.moderate(t, toBob, "approve")
	m = ms.next(t)
	if !slices.Equal(m.To, []string{"ada@example.com"}) || m.Subject != "\u2068Carl\u2069 replied to your comment on /posts/hello" ||
		!strings.Contains(m.Body, "> Welcome!") {
		t.Fatalf("reply mail %q to %v:\n%s", m.Subject, m.To, m.Body)
	}
	a.settled(t)
	ms.none(t)

	// Publishing again (unpublish, publish) tells nobody twice.
	a.moderate(t, reply, "reject")
	a.moderate(t, reply, "approve")
	a.settled(t)
	ms.none(t)

	// Fetching the unsubscribe link changes nothing; a one-click POST does.
	if status, page := a.do(t, http.MethodGet, unsubscribe, "", ""); status != http.StatusOK || !strings.Contains(page, "ada@example.com") {
		t.Fatalf("unsubscribe page: %d\n%s", status, page)
	}
	again := a.submit(t, map[string]any{"post": "/posts/hello", "parent": parent, "author": "Dora", "email": "dora@example.com", "body": "Me too"})
	a.moderate(t, again, "approve")
	if m := ms.next(t); m.Subject != "\u2068Dora\u2069 replied to your comment on /posts/hello" {
		t.Fatalf("after a GET of the unsubscribe link: %q", m.Subject)
	}
	status, _ := a.do(t, http.MethodPost, unsubscribe, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
	if status != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d", status)
	}
	last := a.submit(t, map[string]any{"post": "/posts/hello", "parent": parent, "author": "Eve", "email": "eve@example.com", "body": "Hello?"})
	mine := a.submit(t, with(ada, "body", "Ticking the box again", "notify_published", true))
	a.moderate(t, last, "approve")
	a.moderate(t, mine, "approve")
	a.settled(t)
	ms.none(t) // unsubscribed means no mail, whatever boxes are ticked
}

func TestHeaderInjectionCannotAddHeaders(t *testing.T) {
	ms := startMailServer(t, "127.0.0.1:0", nil, false)
	a := startApp(t, appOptions{}, smtpTo(ms))
	a.addModerator(t, "alice", "alice@example.com", moderation.EmailImmediate)

	// Plain CR and LF are refused at the door.
	for field, value := range map[string]string{"author": "Eve\r\nBcc: evil@example.com", "post": "/p\nBcc: evil@example.com",
		"email": "eve@example.com\r\nBcc: evil@example.com"} {
		body, _ := json.Marshal(with(ada, field, value))
		if status, resp := a.do(t, http.MethodPost, "/api/comments", "application/json", string(body)); status != http.StatusBadRequest {
			t.Errorf("%s with CRLF: %d %s", field, status, resp)
		}
	}
	form := url.Values{"post": {"/p"}, "author": {"Eve"}, "email": {"eve@example.com\r\nBcc: evil@example.com"}, "body": {"x"}}
	if status, _ := a.do(t, http.MethodPost, "/api/comments", "application/x-www-form-urlencoded", form.Encode()); status != http.StatusBadRequest {
		t.Errorf("form email with CRLF: %d", status)
	}

	// What passes the door (Unicode line separators, a body full of header
	// lines, encoded words, non-ASCII) lands in the subject and body only.
	id := a.submit(t, map[string]any{
		"post":   "/p\u2028Subject: pwned\u2029X-Evil: 1",
		"author": "Ève =?utf-8?q?=0D=0ABcc:_evil@example.com?=",
		"email":  "eve@example.com", "notify_published": true,
		"body": "Hello\r\nBcc: evil@example.com\r\n\r\nContent-Type: text/html\n.\nQUIT\n",
	})
	m := ms.next(t)
	a.moderate(t, id, "approve")
	published := ms.next(t)

	for _, got := range []received{m, published} {
		var keys []string
		for k := range got.Header {
			keys = append(keys, k)
			if n := len(got.Header[k]); n != 1 {
				t.Errorf("header %s appears %d times", k, n)
			}
		}
		slices.Sort(keys)
		want := []string{"Auto-Submitted", "Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
		if got.Header.Get("List-Unsubscribe") != "" {
			want = append(want, "List-Unsubscribe", "List-Unsubscribe-Post")
			slices.Sort(want)
		}
		if !slices.Equal(keys, want) {
			t.Errorf("headers %v, want exactly %v", keys, want)
		}
		if len(got.To) != 1 || got.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("recipients %v, content type %q", got.To, got.Header.Get("Content-Type"))
		}
		if !strings.Contains(got.Body, "> .\n> QUIT") {
			t.Errorf("the body lost its text:\n%s", got.Body)
		}
	}
	// The key with line breaks is no page of the blog, so it is shown defanged.
	if want := "New comment by \u2068Ève =?utf-8?q?=0D=0ABcc:_evil@example.com?=\u2069 on /p Subject[:] pwned X-Evil[:] 1"; m.Subject != want {
		t.Errorf("moderator subject %q, want %q", m.Subject, want)
	}
	if !slices.Equal(m.To, []string{"alice@example.com"}) || !slices.Equal(published.To, []string{"eve@example.com"}) {
		t.Errorf("recipients %v and %v", m.To, published.To)
	}
	if !strings.Contains(m.Body, "> Bcc: evil@example.com") {
		t.Errorf("the body's header-like lines are not quoted:\n%s", m.Body)
	}
}

// TestEmailsIsolateNames: names in every script, with their joiners, arrive
// whole, and each is isolated (FSI…PDI) so that a right-to-left name cannot
// reorder the sentence around it.
func TestEmailsIsolateNames(t *testing.T) {
	ms := startMailServer(t, "127.0.0.1:0", nil, false)
	a := startApp(t, appOptions{}, smtpTo(ms))
	a.addModerator(t, "alice", "alice@example.com", moderation.EmailImmediate)

	const persian, arabic = "فرخ\u200cزاد 👩\u200d💻", "نجيب محفوظ"
	parent := a.submit(t, map[string]any{"post": "/p", "author": persian, "email": "f@example.com", "body": "می\u200cخواهم.",
		"notify_published": true, "notify_replies": true})
	if m := ms.next(t); !strings.Contains(m.Body, "\u2068"+persian+"\u2069 <f@example.com> wrote on /p:") || !strings.Contains(m.Body, "> می\u200cخواهم.") {
		t.Errorf("moderator mail:\n%s", m.Body)
	}
	a.moderate(t, parent, "approve")
	if m := ms.next(t); !strings.HasPrefix(m.Body, "Hello \u2068"+persian+"\u2069,") {
		t.Errorf("published mail:\n%s", m.Body)
	}
	reply := a.submit(t, map[string]any{"post": "/p", "parent": parent, "author": arabic, "email": "n@example.com", "body": "أهلا"})
	ms.next(t) // the moderator's
	a.moderate(t, reply, "approve")
	m := ms.next(t)
	if !strings.Contains(m.Body, "Hello \u2068"+persian+"\u2069,\n\n\u2068"+arabic+"\u2069 replied to your comment on /p") {
		t.Errorf("reply mail:\n%s", m.Body)
	}
	if want := "\u2068" + arabic + "\u2069 replied to your comment on /p"; m.Subject != want {
		t.Errorf("reply subject %q, want %q", m.Subject, want)
	}
}
