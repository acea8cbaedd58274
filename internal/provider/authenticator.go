package provider

import "context"

// Authenticator is implemented by clients whose provider offers a way to
// check credentials without side effects (QuantConnect's POST
// /authenticate). The ProviderConfig reconciler uses it to report Ready
// before any Collaborator needs the credentials.
type Authenticator interface {
	// Authenticate asks the provider to accept the credentials.
	Authenticate(ctx context.Context) error
}
