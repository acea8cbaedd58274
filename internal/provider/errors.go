package provider

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Class is what kind of failure an error is, so that the reconciler can
// choose a condition reason and a retry policy without knowing providers.
type Class int

const (
	// ClassUnknown is an error the provider package could not classify; the
	// reconciler treats it as transient.
	ClassUnknown Class = iota
	// ClassNotFound: the collaborator (or its project or application) is not
	// there. For a delete this is success.
	ClassNotFound
	// ClassUnauthorized: the provider refused the credentials (401/403).
	ClassUnauthorized
	// ClassRejected: the provider refused the request as invalid; retrying
	// soon will not help (unknown user, bad email, 400).
	ClassRejected
	// ClassUnavailable: 5xx, timeout or connection error; retry with backoff.
	ClassUnavailable
	// ClassRateLimited: 429; retry after Error.RetryAfter.
	ClassRateLimited
)

// String names the class for logs and tests.
func (c Class) String() string {
	switch c {
	case ClassNotFound:
		return "NotFound"
	case ClassUnauthorized:
		return "Unauthorized"
	case ClassRejected:
		return "Rejected"
	case ClassUnavailable:
		return "Unavailable"
	case ClassRateLimited:
		return "RateLimited"
	default:
		return "Unknown"
	}
}

// ErrUnsupported is wrapped by errors from operations a provider does not
// offer (WebTranslateIt has no read or create).
var ErrUnsupported = errors.New("operation not offered by the provider's API")

// Error is a classified failure of a provider call. Its message must never
// hold a credential: provider packages build it from scrubbed text only.
type Error struct {
	// Provider names the provider, for example "QuantConnect".
	Provider string
	// Op is the operation that failed, for example "create collaborator".
	Op string
	// Class says how the caller should react.
	Class Class
	// StatusCode is the HTTP status, when there was a response.
	StatusCode int
	// Message is the provider's own error text, or a description of a
	// transport failure.
	Message string
	// RetryAfter is how long the provider asked us to wait (429), or zero.
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.StatusCode != 0 {
		msg = http.StatusText(e.StatusCode)
	}
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s %s: HTTP %d: %s", e.Provider, e.Op, e.StatusCode, msg)
	}
	return fmt.Sprintf("%s %s: %s", e.Provider, e.Op, msg)
}

// ClassOf returns the class of the first *Error in err's chain, or
// ClassUnknown.
func ClassOf(err error) Class {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Class
	}
	return ClassUnknown
}

// RetryAfterOf returns the Retry-After the provider gave, or zero.
func RetryAfterOf(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// IsNotFound reports whether err says the collaborator is not there.
func IsNotFound(err error) bool { return ClassOf(err) == ClassNotFound }
