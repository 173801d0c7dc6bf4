package moderation

import (
	"bytes"
	"reflect"
	"regexp"
	"slices"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// linkRel is set on every link in a comment: commenters' links earn no search
// ranking, are marked user-generated, and cannot reach back into the page.
const linkRel = "nofollow ugc noopener"

// Renderer turns a comment's Markdown-lite into the HTML readers get. It is
// safe for concurrent use; build one at start.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// NewRenderer builds the Markdown parser and the sanitizing policy once.
//
// Markdown-lite means paragraphs, line breaks, emphasis, code, quotes, lists
// and links. Raw HTML is not parsed at all, so "<b>" shows as typed instead of
// vanishing; headings and images are not parsed either. The sanitizer then
// enforces the same allowlist on the output, whatever goldmark produced.
func NewRenderer() *Renderer {
	blocks := without(parser.DefaultBlockParsers(),
		parser.NewHTMLBlockParser(), parser.NewATXHeadingParser(), parser.NewSetextHeadingParser())
	inlines := without(parser.DefaultInlineParsers(), parser.NewRawHTMLParser())
	md := goldmark.New(
		goldmark.WithParser(parser.NewParser(
			parser.WithBlockParsers(blocks...),
			parser.WithInlineParsers(inlines...),
			parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
			parser.WithASTTransformers(util.Prioritized(relTransformer{}, 100)),
		)),
		goldmark.WithExtensions(extension.Linkify, extension.Strikethrough),
		goldmark.WithRendererOptions(html.WithHardWraps()),
	)

	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "hr")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,9}$`)).OnElements("ol")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + linkRel + `$`)).OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	return &Renderer{md: md, policy: p}
}

// Render returns the sanitized HTML of a Markdown-lite body.
func (r *Renderer) Render(body string) (string, error) {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(body), &buf); err != nil {
		return "", err
	}
	return r.policy.Sanitize(buf.String()), nil
}

// Sanitize applies the comment policy to HTML from elsewhere (imports).
func (r *Renderer) Sanitize(h string) string { return r.policy.Sanitize(h) }

// without returns ps less the parsers of the same types as drop.
func without(ps []util.PrioritizedValue, drop ...any) []util.PrioritizedValue {
	var out []util.PrioritizedValue
	for _, p := range ps {
		if !slices.ContainsFunc(drop, func(d any) bool { return reflect.TypeOf(d) == reflect.TypeOf(p.Value) }) {
			out = append(out, p)
		}
	}
	return out
}

// relTransformer marks every link with linkRel, and turns images into plain
// links to them: comments embed no remote content, but the reference stays.
type relTransformer struct{}

func (relTransformer) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var images []*ast.Image
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link, *ast.AutoLink:
			n.SetAttributeString("rel", []byte(linkRel))
		case *ast.Image:
			images = append(images, n)
		}
		return ast.WalkContinue, nil
	})
	for _, img := range images {
		link := ast.NewLink()
		link.Destination, link.Title = img.Destination, img.Title
		link.SetAttributeString("rel", []byte(linkRel))
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			link.AppendChild(link, c)
			c = next
		}
		img.Parent().ReplaceChild(img.Parent(), img, link)
	}
}
