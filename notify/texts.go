package notify

import (
	"strings"
	"text/template"
	"time"
)

// The emails, as plain text. User text goes through name (authors),
// oneLine (post keys) or quote (bodies), which replace control and invisible
// characters; a quoted body is set off with "> " so it cannot pass for
// Parley's words, and a name is isolated so it cannot reorder the sentence
// around it.
var texts = template.Must(template.New("").Funcs(template.FuncMap{
	"name":    isolated,
	"oneLine": oneLine,
	"quote":   quote,
	"inc":     func(i int) int { return i + 1 },
	"date":    func(t time.Time) string { return t.UTC().Format("2 January 2006 15:04 UTC") },
}).Parse(`
{{define "comment"}}{{name .C.Author}}{{with .C.Website}} ({{.}}){{end}} <{{.C.Email}}> wrote on {{.Post}}:
{{with .PostURL}}{{.}}
{{end}}
{{quote .C.Body}}

Approve: {{.Approve}}
Reject:  {{.Reject}}
{{end}}

{{define "moderator-footer"}}Each link works once, until {{date .Expires}}. It opens a page that asks you
to confirm: nothing changes until you press its button.
Every comment waiting: {{.Admin}}

-- 
You get this because you moderate the comments at {{.Site}}.
To change how you hear of new comments:
  parley moderator notify {{.Moderator}} --email-mode digest|immediate|off
{{end}}

{{define "moderator"}}{{template "comment" .Item}}
{{template "moderator-footer" .}}{{end}}

{{define "digest"}}{{len .Items}} {{if eq (len .Items) 1}}comment is{{else}}comments are{{end}} waiting for moderation at {{.Site}}.
{{range $i, $item := .Items}}
{{$i | inc}}. {{template "comment" $item}}{{end}}
{{template "moderator-footer" .}}{{end}}

{{define "published"}}Hello {{name .C.Author}},

your comment on {{.Post}} is published{{with .PostURL}}:
{{.}}{{else}}.{{end}}

{{quote .C.Body}}

-- 
You get this because you asked to hear when your comment is published.
To get no more email from the comments at {{.Site}}: {{.Unsubscribe}}
{{end}}

{{define "reply"}}Hello {{name .Parent.Author}},

{{name .C.Author}} replied to your comment on {{.Post}}{{with .PostURL}}:
{{.}}{{else}}.{{end}}

{{quote .C.Body}}

-- 
You get this because you asked to hear of replies to your comment.
To get no more email from the comments at {{.Site}}: {{.Unsubscribe}}
{{end}}

{{define "verify"}}Hello,

someone, most likely you, asked to verify this address for the comments at
{{.Site}}. To confirm it, open this link within 48 hours and press the
button on the page:

{{.Link}}

If that was not you, ignore this email: nothing happens unless the link is
opened and confirmed.
{{end}}
`))

// isolated is an author's name on one line, isolated with FSI and PDI:
// plain text has no <bdi>, and a right-to-left name must not reorder the
// words after it.
func isolated(s string) string { return "\u2068" + oneLine(s) + "\u2069" }

// quote sets off user text as an email quotation.
func quote(s string) string {
	lines := strings.Split(strings.TrimRight(plain(s), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("> "+l, " ")
	}
	return strings.Join(lines, "\n")
}
