package moderation

import (
	"errors"
	"sort"
	"strings"
)

// Code is a stable machine word for a kind of failure, as in the HTTP contract.
type Code string

// The error codes of the HTTP contract. The server maps each to one status.
const (
	CodeValidation   Code = "validation_failed"
	CodeNotFound     Code = "not_found"
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeRateLimited  Code = "rate_limited"
	CodeTooLarge     Code = "too_large"
	CodeTimeout      Code = "request_timeout" // the client sent its request too slowly
	CodeUnreadable   Code = "unreadable_file" // an import file with no comment, or broken past repair
	CodeUnsupported  Code = "unsupported_media_type"
	CodeConflict     Code = "conflict"
	CodeUnavailable  Code = "unavailable"
	CodeStorageFull  Code = "insufficient_storage"
	CodeInternal     Code = "internal"
)

// Error is a failure the person or script on the other end can act on. Its
// Message is written for them; anything else is an internal error whose text
// never leaves the server.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is lets errors.Is match two *Error values by code, so a storage error wrapped
// around ErrNotFound still is ErrNotFound.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error with code and message.
func Errorf(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// The sentinel errors that Store implementations and the Service return.
var (
	ErrNotFound     = Errorf(CodeNotFound, "Nothing was found here.")
	ErrConflict     = Errorf(CodeConflict, "That conflicts with what is already stored.")
	ErrUnauthorized = Errorf(CodeUnauthorized, "Please sign in or send a valid API token.")
	ErrForbidden    = Errorf(CodeForbidden, "You are not allowed to do that.")
	ErrStorageFull  = Errorf(CodeStorageFull, "The server is out of disk space; please try again later. Nothing you sent was lost on your side.")
)

// ValidationError names, per request field, what is wrong with it.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	names := make([]string, 0, len(e.Fields))
	for name := range e.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + " " + e.Fields[name]
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// invalid returns a ValidationError for one field.
func invalid(field, message string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: message}}
}

// ErrorCode returns the code of err, CodeInternal for anything unexpected.
func ErrorCode(err error) Code {
	var v *ValidationError
	if errors.As(err, &v) {
		return CodeValidation
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
