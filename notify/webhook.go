package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/template"
	"time"

	"parley/moderation"
)

// SignatureHeader carries the HMAC-SHA256 of a webhook body under the
// shared secret, as "sha256=" and lower-case hex (as GitHub does).
const SignatureHeader = "X-Parley-Signature-256"

// Payload is what a webhook is told about a pending comment: the body
// Parley sends by default, and the data a --webhook-template is given.
// Text (Slack) and Content (Discord) hold the same one-paragraph summary,
// so either service takes the default body as it is.
type Payload struct {
	Event           string         `json:"event"` // "comment.pending"
	Site            PayloadSite    `json:"site"`
	Text            string         `json:"text"`
	Content         string         `json:"content"`
	AllowedMentions map[string]any `json:"allowed_mentions"` // Discord: mention nobody, whatever the text says
	Comment         PayloadComment `json:"comment"`
	AdminURL        string         `json:"admin_url"`
	SentAt          time.Time      `json:"sent_at"`
}

// PayloadSite names the site a comment was left on.
type PayloadSite struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PayloadComment is the comment in a Payload. It has no email address.
type PayloadComment struct {
	ID      string    `json:"id"`
	Post    string    `json:"post"`
	PostURL string    `json:"post_url"` // "" when the key is not a page of the blog
	Author  string    `json:"author"`
	Website string    `json:"website,omitempty"`
	Body    string    `json:"body"`
	Created time.Time `json:"created"`
}

// TemplateFuncs are the functions a webhook template may use: json writes a
// value as JSON (a string with its quotes and escapes), slack escapes
// &, < and > as Slack's message format needs.
var TemplateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"slack": slackEscape,
}

func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// ParseTemplate reads a webhook template and checks, on a sample, that it
// writes valid JSON.
func ParseTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Funcs(TemplateFuncs).Parse(text)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	sample := Payload{Event: "comment.pending", Text: "a \"sample\"\nline", Content: "a \"sample\"\nline",
		Comment: PayloadComment{ID: "sample", Post: "/sample", Author: "A \"quoted\" <name>", Body: "line\nline"}}
	if err := t.Execute(&b, sample); err != nil {
		return nil, fmt.Errorf("webhook template %s: %v", name, err)
	}
	if !json.Valid(b.Bytes()) {
		return nil, fmt.Errorf("webhook template %s does not write valid JSON (use {{json .Field}} for text)", name)
	}
	return t, nil
}

type webhooks struct {
	client   *http.Client
	secret   []byte
	template *template.Template
}

// webhookTimeout bounds one POST, its answer included.
const webhookTimeout = 10 * time.Second

func newWebhooks(cfg Config) (*webhooks, error) {
	for _, raw := range cfg.Webhooks {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("webhook %q: must be an absolute http(s) URL", raw)
		}
	}
	return &webhooks{
		client: &http.Client{Timeout: webhookTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		secret:   []byte(cfg.WebhookSecret),
		template: cfg.WebhookTemplate,
	}, nil
}

// Sign returns the signature header's value for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post sends one payload. A 2xx answer is success; 408, 429 and 5xx are
// retried; any other answer (a wrong URL, a refused signature) is final.
func (w *webhooks) post(ctx context.Context, target string, seq uint64, p Payload) error {
	var body []byte
	if w.template != nil {
		var b bytes.Buffer
		if err := w.template.Execute(&b, p); err != nil {
			return permanent{fmt.Errorf("webhook template: %w", err)}
		}
		body = b.Bytes()
	} else {
		body, _ = json.Marshal(p)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return permanent{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhook/1")
	req.Header.Set("X-Parley-Event", p.Event)
	req.Header.Set("X-Parley-Delivery", strconv.FormatUint(seq, 10))
	if len(w.secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold a secret token (Slack, Discord)
		}
		return fmt.Errorf("webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("webhook answered %d", code)
	default:
		return permanent{fmt.Errorf("webhook answered %d", code)}
	}
}

// payload describes a pending comment for webhooks.
func (n *Notifier) payload(ctx context.Context, c *moderation.Comment) Payload {
	post := n.postText(ctx, c.Site, c.Post) // chat apps link URLs in text, too
	summary := n.subject(ctx, c.Site, fmt.Sprintf("New comment by %s on %s awaiting moderation: %s\n> %s",
		isolated(c.Author), post, n.cfg.PublicURL+"/admin", truncate(oneLine(c.Body), 300)))
	return Payload{
		Event: "comment.pending", Site: PayloadSite{ID: siteOf(c.Site), Name: n.siteName(ctx, c.Site)}, Text: slackEscape(summary), Content: summary,
		AllowedMentions: map[string]any{"parse": []string{}},
		Comment: PayloadComment{ID: c.ID, Post: c.Post, PostURL: n.postURL(ctx, c.Site, c.Post), Author: c.Author,
			Website: c.Website, Body: c.Body, Created: c.Created},
		AdminURL: n.cfg.PublicURL + "/admin", SentAt: n.now(),
	}
}
