package moderation

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// Submission is what a commenter sends. Field names are the request's names.
type Submission struct {
	Post    string `json:"post" form:"post" validate:"required,maxbytes=512,nocontrol"`
	Parent  string `json:"parent" form:"parent" validate:"omitempty,max=64,nocontrol"`
	Author  string `json:"author" form:"author" validate:"required,max=80,nocontrol,visible"`
	Email   string `json:"email" form:"email" validate:"required,maxbytes=254,nocontrol,email"`
	Website string `json:"website" form:"website" validate:"omitempty,maxbytes=2048,nocontrol,weburl"`
	Body    string `json:"body" form:"body" validate:"required,max=10000,textonly"`

	// Opt-ins for email about this comment; off unless the commenter ticks them.
	NotifyPublished bool `json:"notify_published" form:"notify_published"`
	NotifyReplies   bool `json:"notify_replies" form:"notify_replies"`

	// Anti-spam fields the widget sends; checked by the spam pipeline.
	Token    string `json:"token" form:"token" validate:"max=1024"`
	Honeypot string `json:"nickname" form:"nickname" validate:"max=1024"`
	Nonce    string `json:"pow" form:"pow" validate:"max=64"`

	claims []Claim // keys the checks want taken with the comment; see Claim
	site   *Site   // the site it is for, set by Service.Submit from the resolved request
}

// normalize trims what the limits are measured on, and turns CRLF into LF so
// that a form post and a JSON post of the same text store the same body.
func (s *Submission) normalize() {
	s.Post = strings.TrimSpace(s.Post)
	s.Parent = strings.TrimSpace(s.Parent)
	s.Author = strings.TrimSpace(s.Author)
	s.Email = strings.TrimSpace(s.Email)
	s.Website = strings.TrimSpace(s.Website)
	s.Body = strings.TrimSpace(strings.ReplaceAll(s.Body, "\r\n", "\n"))
}

// Validator checks submissions. Build one with NewValidator and share it.
type Validator struct {
	v *validator.Validate
}

// NewValidator builds the validator with Parley's own rules registered.
func NewValidator() *Validator {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return name
	})
	must(v.RegisterValidation("maxbytes", func(fl validator.FieldLevel) bool {
		limit, err := strconv.Atoi(fl.Param())
		return err == nil && len(fl.Field().String()) <= limit
	}))
	must(v.RegisterValidation("nocontrol", func(fl validator.FieldLevel) bool {
		return !strings.ContainsFunc(fl.Field().String(), unicode.IsControl)
	}))
	must(v.RegisterValidation("textonly", func(fl validator.FieldLevel) bool {
		return !strings.ContainsFunc(fl.Field().String(), func(r rune) bool {
			return unicode.IsControl(r) && r != '\n' && r != '\t'
		})
	}))
	must(v.RegisterValidation("visible", func(fl validator.FieldLevel) bool {
		return validName(fl.Field().String())
	}))
	must(v.RegisterValidation("weburl", func(fl validator.FieldLevel) bool {
		u, err := url.Parse(fl.Field().String())
		return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
	}))
	return &Validator{v: v}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// isInvisible reports characters that let a name impersonate another or hide
// text: bidirectional overrides and isolates, and zero-width characters.
func isInvisible(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	case r >= 0x200B && r <= 0x200D, r == 0x2060, r == 0xFEFF, r == 0x00AD, r == 0x180E:
		return true
	}
	return false
}

// messages turns validator tags into sentences for the person who typed.
var messages = map[string]string{
	"required":  "is required",
	"email":     "must be a valid email address",
	"weburl":    "must be an absolute http or https address, like https://example.com",
	"nocontrol": "must not contain control characters",
	"textonly":  "must not contain control characters other than line breaks and tabs",
	"visible":   "must not contain invisible or text-direction characters",
}

// Check normalizes s and reports every field that breaks a rule.
func (v *Validator) Check(s *Submission) error {
	for field, value := range map[string]string{"post": s.Post, "parent": s.Parent, "author": s.Author,
		"email": s.Email, "website": s.Website, "body": s.Body} {
		if !utf8.ValidString(value) {
			return invalid(field, "must be valid UTF-8 text")
		}
	}
	s.normalize()
	err := v.v.Struct(s)
	if err == nil {
		return nil
	}
	errs, ok := err.(validator.ValidationErrors)
	if !ok {
		return err
	}
	fields := make(map[string]string, len(errs))
	for _, fe := range errs {
		fields[fe.Field()] = message(fe)
	}
	return &ValidationError{Fields: fields}
}

func message(fe validator.FieldError) string {
	switch fe.Tag() {
	case "max":
		return "must be at most " + fe.Param() + " characters"
	case "maxbytes":
		return "must be at most " + fe.Param() + " bytes"
	}
	if m, ok := messages[fe.Tag()]; ok {
		return m
	}
	return "is not valid"
}
