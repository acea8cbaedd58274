// Package provider is the seam between the reconcilers and the SaaS APIs.
// The reconcilers see only the Client interface, the error classes and the
// Registry; each provider lives in its own package below this one and
// registers a Factory, so adding a provider never touches a controller.
package provider

import (
	"context"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// Observation is what the provider says about a Collaborator right now.
type Observation struct {
	// Exists is true when the provider holds the collaborator.
	Exists bool
	// UpToDate is true when what the provider holds matches the spec; it is
	// meaningful only when Exists.
	UpToDate bool
	// ExternalID is the provider's id of the collaborator, when known.
	ExternalID string
}

// Creation is the provider's answer to a create.
type Creation struct {
	// ExternalID is the provider's id of the new collaborator. The caller
	// records it before doing anything else, so a crash cannot lead to a
	// second create.
	ExternalID string
}

// Client manages collaborators at one provider, with one set of
// credentials. All methods are idempotent: creating a collaborator that
// exists and deleting one that is gone succeed.
//
// Observe, Create and Update fill the provider's block of c.Status (for
// example Status.QuantConnect) from the provider's own answer; they never
// change the spec. They read the provider's id from the
// collab.dev/external-id annotation when it is set.
//
// A provider without a read or create API (WebTranslateIt) returns an error
// that wraps ErrUnsupported from Observe, Create and Update instead of
// pretending the collaborator exists.
type Client interface {
	// Observe reports whether the collaborator exists and is up to date.
	Observe(ctx context.Context, c *collabv1alpha1.Collaborator) (Observation, error)
	// Create adds the collaborator as the spec says.
	Create(ctx context.Context, c *collabv1alpha1.Collaborator) (Creation, error)
	// Update makes the provider's collaborator match the spec.
	Update(ctx context.Context, c *collabv1alpha1.Collaborator) error
	// Delete removes the collaborator; one that is already gone is success.
	Delete(ctx context.Context, c *collabv1alpha1.Collaborator) error
}

// Credentials are the data of a ProviderConfig's Secret, by key.
type Credentials map[string][]byte

// Config is what a Factory needs to build a Client.
type Config struct {
	// BaseURL is the provider API's base URL from the ProviderConfig.
	BaseURL string
	// Credentials are the Secret's data.
	Credentials Credentials
}
