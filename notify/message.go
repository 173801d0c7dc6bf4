package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// message is one plain-text email. Every header is written here and only
// here, from a fixed list: user text reaches the subject only, RFC 2047
// encoded, so no field a commenter types can add or change a header.
type message struct {
	From        *mail.Address
	SenderName  string // the site's sender name, over the configured sender's; "" keeps it
	To          string // a bare address, checked by address()
	Subject     string
	Body        string
	Unsubscribe string // a one-click unsubscribe URL; adds the List-Unsubscribe headers
	Date        time.Time
}

// maxSubject bounds the subject in characters before encoding.
const maxSubject = 120

// bytes renders the message: CRLF line ends, quoted-printable UTF-8 body.
func (m *message) bytes() ([]byte, error) {
	to, err := address(m.To)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	h := func(name, value string) {
		if strings.ContainsAny(strings.ReplaceAll(value, "\r\n ", " "), "\r\n") { // only folds may break a line
			err = errors.Join(err, fmt.Errorf("header %s would break the message", name))
			return
		}
		b.WriteString(name + ": " + value + "\r\n")
	}
	h("From", m.From.String())
	h("To", to)
	h("Subject", encodeHeader(truncate(oneLine(m.Subject), maxSubject)))
	h("Date", m.Date.Format(time.RFC1123Z))
	h("Message-ID", messageID(m.From.Address))
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	if m.Unsubscribe != "" {
		if strings.ContainsAny(m.Unsubscribe, "\r\n<> ") {
			return nil, errors.New("the unsubscribe URL is not a URL")
		}
		h("List-Unsubscribe", "<"+m.Unsubscribe+">")
		h("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	if err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(m.Body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// address checks a recipient: one bare address, nothing else.
func address(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || strings.ContainsAny(s, "\r\n") {
		return "", errors.New("the recipient is not a single valid address")
	}
	return s, nil
}

// encodeHeader encodes text for a header, folding long encodings so that no
// line passes 78 characters.
func encodeHeader(s string) string {
	return strings.ReplaceAll(mime.QEncoding.Encode("utf-8", s), "?= =?", "?=\r\n =?")
}

func messageID(from string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	domain := "parley.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok {
		domain = d
	}
	return "<" + hex.EncodeToString(b) + "@" + domain + ">"
}

// plain makes user text safe to show as one line or as the text of a
// plain-text email: control characters other than line breaks and tabs,
// and the invisible characters that reorder or hide text, are replaced.
// Joiners and the first-strong isolate (which Parley puts around names)
// stay: they hide nothing and reorder nothing.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\u2028' || r == '\u2029' || r == '\u0085':
			return '\n'
		case r == '\u200C' || r == '\u200D': // joiners: Persian words, Indic conjuncts, emoji sequences
			return r
		case r == '\u2068' || r == '\u2069': // first-strong isolate: it keeps text from reordering, never reorders it
			return r
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			return '\uFFFD'
		}
		return r
	}, s)
}

// oneLine is plain text folded to one line, for subjects and labels.
func oneLine(s string) string { return strings.Join(strings.Fields(plain(s)), " ") }

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

var emailLike = regexp.MustCompile(`[^\s<>"'()]+@[^\s<>"'()]+`)

// redact removes anything like an address from an error (SMTP servers
// quote the recipient), so logs and the outbox never hold one.
func redact(s string) string { return emailLike.ReplaceAllString(s, "[address]") }
