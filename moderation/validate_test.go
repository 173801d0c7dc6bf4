package moderation

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func valid() Submission {
	return Submission{Post: "/2015/12/xi-wuzhen", Author: "Ada", Email: "ada@example.com", Body: "Lovely post."}
}

func TestValidatorRules(t *testing.T) {
	v := NewValidator()
	tests := []struct {
		name  string
		edit  func(*Submission)
		field string // "" when the submission must pass
		want  string
	}{
		{"valid", func(*Submission) {}, "", ""},
		{"website ok", func(s *Submission) { s.Website = "https://ada.example.com/about" }, "", ""},
		{"author at limit", func(s *Submission) { s.Author = strings.Repeat("é", 80) }, "", ""},
		{"body at limit", func(s *Submission) { s.Body = strings.Repeat("ü", 10000) }, "", ""},
		{"body keeps newlines and tabs", func(s *Submission) { s.Body = "a\n\tb" }, "", ""},
		{"missing post", func(s *Submission) { s.Post = "" }, "post", "is required"},
		{"post too long", func(s *Submission) { s.Post = strings.Repeat("p", 513) }, "post", "must be at most 512 bytes"},
		{"post control char", func(s *Submission) { s.Post = "/a\x00b" }, "post", "must not contain control characters"},
		{"missing author", func(s *Submission) { s.Author = "   " }, "author", "is required"},
		{"author too long", func(s *Submission) { s.Author = strings.Repeat("a", 81) }, "author", "must be at most 80 characters"},
		{"author bidi override", func(s *Submission) { s.Author = "Ada\u202Egnp.exe" }, "author", "must not contain invisible or text-direction characters"},
		{"author zero width", func(s *Submission) { s.Author = "A\u200Bda" }, "author", "must not contain invisible or text-direction characters"},
		{"author newline", func(s *Submission) { s.Author = "Ada\nBcc: x" }, "author", "must not contain control characters"},
		{"missing email", func(s *Submission) { s.Email = "" }, "email", "is required"},
		{"bad email", func(s *Submission) { s.Email = "not-an-email" }, "email", "must be a valid email address"},
		{"email too long", func(s *Submission) { s.Email = strings.Repeat("a", 250) + "@x.io" }, "email", "must be at most 254 bytes"},
		{"website not absolute", func(s *Submission) { s.Website = "example.com" }, "website", "must be an absolute http or https address, like https://example.com"},
		{"website javascript", func(s *Submission) { s.Website = "javascript:alert(1)" }, "website", "must be an absolute http or https address, like https://example.com"},
		{"website too long", func(s *Submission) { s.Website = "https://x.io/" + strings.Repeat("a", 2048) }, "website", "must be at most 2048 bytes"},
		{"missing body", func(s *Submission) { s.Body = " \n " }, "body", "is required"},
		{"body too long", func(s *Submission) { s.Body = strings.Repeat("a", 10001) }, "body", "must be at most 10000 characters"},
		{"body NUL", func(s *Submission) { s.Body = "a\x00b" }, "body", "must not contain control characters other than line breaks and tabs"},
		{"body invalid UTF-8", func(s *Submission) { s.Body = "a\xffb" }, "body", "must be valid UTF-8 text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.edit(&s)
			err := v.Check(&s)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("Check = %v, want a ValidationError", err)
			}
			if got := ve.Fields[tt.field]; got != tt.want {
				t.Errorf("fields[%q] = %q, want %q (all: %v)", tt.field, got, tt.want, ve.Fields)
			}
		})
	}
}

func TestValidatorTrimsAndNormalizes(t *testing.T) {
	s := valid()
	s.Author, s.Body = "  Ada  ", "\r\nline one\r\nline two\r\n"
	if err := NewValidator().Check(&s); err != nil {
		t.Fatal(err)
	}
	if s.Author != "Ada" || s.Body != "line one\nline two" {
		t.Errorf("got author %q body %q", s.Author, s.Body)
	}
}

// FuzzValidator checks the input rules never panic and that whatever they
// accept keeps every rule: valid UTF-8, lengths, no control characters.
func FuzzValidator(f *testing.F) {
	f.Add("/p", "Ada", "ada@example.com", "", "hi")
	f.Add("/p\x00", "A\u202E", "a@b", "javascript:x", "\xff")
	f.Add(strings.Repeat("x", 600), " ", "@", "http://", "\t\n")
	f.Add("/p", "می\u200cخواهم 👩\u200d💻", "a@b.co", "", "x")
	v := NewValidator()
	f.Fuzz(func(t *testing.T, post, author, email, website, body string) {
		s := Submission{Post: post, Author: author, Email: email, Website: website, Body: body}
		if v.Check(&s) != nil {
			return
		}
		for _, field := range []string{s.Post, s.Author, s.Email, s.Website, s.Body} {
			if !utf8.ValidString(field) {
				t.Fatalf("accepted invalid UTF-8 %q", field)
			}
		}
		if len(s.Post) > 512 || utf8.RuneCountInString(s.Author) > 80 || len(s.Email) > 254 || utf8.RuneCountInString(s.Body) > 10000 {
			t.Fatalf("accepted over-long field: %+v", s)
		}
		if strings.ContainsFunc(s.Author, hides) || strings.ContainsAny(s.Author+s.Post+s.Email, "\x00\r\n") ||
			strings.IndexAny(s.Author, "\u200C\u200D") == 0 || strings.HasSuffix(s.Author, "\u200C") || strings.HasSuffix(s.Author, "\u200D") {
			t.Fatalf("accepted hidden or control characters: %+v", s)
		}
	})
}
