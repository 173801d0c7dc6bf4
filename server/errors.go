package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

// statusOf is the one place where error codes become HTTP statuses.
var statusOf = map[moderation.Code]int{
	moderation.CodeValidation:   http.StatusBadRequest,
	moderation.CodeNotFound:     http.StatusNotFound,
	moderation.CodeUnauthorized: http.StatusUnauthorized,
	moderation.CodeForbidden:    http.StatusForbidden,
	moderation.CodeRateLimited:  http.StatusTooManyRequests,
	moderation.CodeTooLarge:     http.StatusRequestEntityTooLarge,
	moderation.CodeTimeout:      http.StatusRequestTimeout,
	moderation.CodeUnsupported:  http.StatusUnsupportedMediaType,
	moderation.CodeConflict:     http.StatusConflict,
	moderation.CodeUnreadable:   http.StatusUnprocessableEntity,
	moderation.CodeUnavailable:  http.StatusServiceUnavailable,
	moderation.CodeStorageFull:  http.StatusInsufficientStorage,
	moderation.CodeInternal:     http.StatusInternalServerError,
}

// codeOf turns Echo's own errors (unknown route, body limit, …) into domain codes.
var codeOf = map[int]moderation.Code{
	http.StatusBadRequest:            moderation.CodeValidation,
	http.StatusNotFound:              moderation.CodeNotFound,
	http.StatusMethodNotAllowed:      moderation.CodeNotFound,
	http.StatusUnauthorized:          moderation.CodeUnauthorized,
	http.StatusForbidden:             moderation.CodeForbidden,
	http.StatusTooManyRequests:       moderation.CodeRateLimited,
	http.StatusRequestEntityTooLarge: moderation.CodeTooLarge,
	http.StatusUnsupportedMediaType:  moderation.CodeUnsupported,
}

// messageOf says Echo's errors in words for people.
var messageOf = map[int]string{
	http.StatusNotFound:              "Nothing was found at this address.",
	http.StatusMethodNotAllowed:      "This address does not take that method.",
	http.StatusRequestEntityTooLarge: "The request is too large.",
	http.StatusTooManyRequests:       "Too many requests; please wait a moment and try again.",
	http.StatusUnsupportedMediaType:  "Send JSON or a form (application/json or application/x-www-form-urlencoded).",
	http.StatusBadRequest:            "The request could not be read.",
}

// abortedKey marks a request whose client did not finish sending its body,
// for the metrics.
const abortedKey = "parley.aborted"

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      moderation.Code   `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// handleError writes every failure as the contract's JSON error. Unexpected
// errors are logged with the request ID and their text never leaves.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		// The client left before its answer (PostgreSQL's queries stop
		// with it): nobody to tell, nothing broken.
		c.Set(abortedKey, true)
		s.log.Info("client went away", slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("route", c.Path()))
		return
	}
	detail := errorDetail{Code: moderation.ErrorCode(err), Message: "Something went wrong on our side; please try again."}
	var he *echo.HTTPError
	var ve *moderation.ValidationError
	var de *moderation.Error
	switch {
	case errors.As(err, &ve):
		detail.Message, detail.Fields = "Some fields need attention.", ve.Fields
	case errors.As(err, &de):
		detail.Message = de.Message
	case errors.As(err, &he) && codeOf[he.Code] != "":
		detail.Code, detail.Message = codeOf[he.Code], messageOf[he.Code]
		if m, ok := he.Message.(string); ok && he.Internal == nil && he.Code == http.StatusBadRequest {
			detail.Message = m
		}
	}
	status := statusOf[detail.Code]
	var bf *bodyFailure
	if errors.As(err, &bf) {
		// The client's doing, not ours: worth a line, never an alert.
		c.Set(abortedKey, true)
		s.log.Info("request body incomplete", slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("route", c.Path()), slog.Bool("timeout", bf.timeout))
	}
	if status >= 500 {
		detail.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		if detail.Code == moderation.CodeInternal {
			s.log.Error("request failed", slog.String("request_id", detail.RequestID),
				slog.String("route", c.Path()), slog.Any("error", err))
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, errorBody{Error: detail})
}
