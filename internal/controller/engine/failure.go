// Package engine is what every reconciler shares: how an error becomes a
// condition reason and a retry, the conditions themselves, the status
// writer that writes only what changed, and the one way a failed step is
// reported (status, log, Event).
package engine

import (
	"errors"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Failure is an error with the decisions the reconcilers take on it: the
// condition reason, whether only a person can help, and how long the
// provider asked us to wait.
type Failure struct {
	// Reason is the condition reason.
	Reason string
	// Terminal says only a change by a person can help.
	Terminal bool
	// RetryAfter is the provider's own wait (429), or zero.
	RetryAfter time.Duration
	// Err is the error classified.
	Err error
}

// SetupError is a failure before any talk with the provider: a
// ProviderConfig or its Secret missing or unusable, a base URL not
// allowed, a delete that cannot name its target. It carries the condition
// reason, because only the step that found it knows which one fits.
type SetupError struct {
	// Reason is the condition reason.
	Reason string
	// Message says what is wrong and what to do.
	Message string
	// Terminal says only a change by a person can help.
	Terminal bool
}

// Error implements error.
func (e *SetupError) Error() string { return e.Message }

// Classify maps an error from a setup step or a provider call to a
// condition reason and a retry policy. It is the one place that knows how
// provider error classes become API reasons.
func Classify(err error) Failure {
	var se *SetupError
	if errors.As(err, &se) {
		return Failure{Reason: se.Reason, Terminal: se.Terminal, Err: err}
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		// The Kubernetes API server, not the provider, failed us. Only a
		// person can grant what RBAC forbids; the rest is worth a retry.
		return Failure{Reason: collabv1alpha1.ReasonKubernetesAPIError,
			Terminal: apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err), Err: err}
	}
	f := Failure{Err: err}
	switch provider.ClassOf(err) {
	case provider.ClassUnauthorized:
		f.Reason, f.Terminal = collabv1alpha1.ReasonCredentialsInvalid, true
	case provider.ClassRejected:
		f.Reason, f.Terminal = collabv1alpha1.ReasonRejected, true
	case provider.ClassRateLimited:
		f.Reason, f.RetryAfter = collabv1alpha1.ReasonRateLimited, provider.RetryAfterOf(err)
	default:
		// Unavailable, NotFound in the middle of a write (the provider
		// changed under us) and anything unclassified are worth a retry.
		f.Reason = collabv1alpha1.ReasonProviderUnavailable
	}
	return f
}

// Advice tells a person what to do about a reason, appended to messages.
func Advice(reason string) string {
	switch reason {
	case collabv1alpha1.ReasonCredentialsInvalid:
		return "Fix the credentials Secret; the operator retries as soon as it changes."
	case collabv1alpha1.ReasonRejected:
		return "Fix the spec; the operator retries as soon as it changes."
	case collabv1alpha1.ReasonProviderMismatch:
		return "Point providerConfigRef at a ProviderConfig of the same provider."
	case collabv1alpha1.ReasonRateLimited:
		return "Retrying after the wait the provider asked for, or with backoff when it named none."
	case collabv1alpha1.ReasonBaseURLNotAllowed:
		return "Fix the ProviderConfig's baseURL or the manager's --allowed-provider-urls; the operator retries as soon as the ProviderConfig changes."
	case collabv1alpha1.ReasonNotPermitted:
		return "Ask the ClusterProviderConfig's administrators to widen its grants; the operator retries as soon as they or the namespace's labels change."
	case collabv1alpha1.ReasonExternalIDUnknown:
		return "The operator retries as soon as the annotation is set."
	case collabv1alpha1.ReasonKubernetesAPIError:
		return "Check the manager's RBAC and the API server; the operator retries."
	default:
		return "Retrying with backoff."
	}
}

// Sentence is err's text without a closing period, for messages that add
// their own.
func Sentence(err error) string {
	return strings.TrimRight(strings.TrimSpace(err.Error()), ".")
}
