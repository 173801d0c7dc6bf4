package notify

import (
	"bytes"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzMessageHeaders: whatever the subject and body hold, the message has
// exactly Parley's headers, and the subject decodes to the text given.
func FuzzMessageHeaders(f *testing.F) {
	f.Add("New comment by Eve\r\nBcc: evil@example.com", "body\r\nBcc: x\r\n\r\n.")
	f.Add("=?utf-8?q?=0D=0ABcc:_x?= \u2028Subject: y", "")
	f.Add(strings.Repeat("é", 300), strings.Repeat("long line ", 200))
	from := &mail.Address{Name: "Parley", Address: "parley@example.com"}
	want := []string{"Auto-Submitted", "Content-Transfer-Encoding", "Content-Type", "Date", "From", "List-Unsubscribe",
		"List-Unsubscribe-Post", "Message-Id", "Mime-Version", "Subject", "To"}
	f.Fuzz(func(t *testing.T, subject, body string) {
		m := &message{From: from, To: "ada@example.com", Subject: subject, Body: body,
			Unsubscribe: "https://comments.example.com/unsubscribe/abc", Date: time.Unix(0, 0)}
		raw, err := m.bytes()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("unreadable message: %v\n%q", err, raw)
		}
		var keys []string
		for k, v := range parsed.Header {
			if len(v) != 1 {
				t.Fatalf("header %s appears %d times", k, len(v))
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("headers %v", keys)
		}
		head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
		for _, line := range strings.Split(string(head), "\r\n") {
			if len(line) > 998 {
				t.Fatalf("a header line of %d bytes", len(line))
			}
		}
		if parsed.Header.Get("To") != "ada@example.com" {
			t.Fatalf("To: %q", parsed.Header.Get("To"))
		}
	})
}

func TestMessageRefusesABadRecipient(t *testing.T) {
	for _, to := range []string{"ada@example.com\r\nBcc: evil@example.com", "Ada <ada@example.com>", "a@b.c, d@e.f", ""} {
		m := &message{From: &mail.Address{Address: "p@example.com"}, To: to, Subject: "s", Date: time.Now()}
		if _, err := m.bytes(); err == nil {
			t.Errorf("recipient %q accepted", to)
		}
	}
}

func TestRedactRemovesAddresses(t *testing.T) {
	got := redact("RCPT TO: 550 5.1.1 <ada@example.com>: Recipient address rejected")
	if strings.Contains(got, "ada@") || !strings.Contains(got, "550 5.1.1") {
		t.Fatalf("redact: %q", got)
	}
}
