// Package provider is the seam between the reconcilers and the SaaS APIs.
// The reconcilers see only the Client interface, the error classes and the
// Registry; each provider lives in its own package below this one and
// registers a Factory, so adding a provider never touches a controller.
package provider

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

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
	// Difference says, for a person, what differs from the spec when
	// UpToDate is false ("permission is read, the spec wants write").
	Difference string
	// ObservedAt is when the provider gave the answer this observation
	// rests on: a shared snapshot may be older than the call. Zero for a
	// provider without a read. The reconciler comes back when the snapshot
	// expires, so that all Collaborators of a project share its next read.
	ObservedAt time.Time
}

// Creation is the provider's answer to a create.
type Creation struct {
	// ExternalID is the provider's id of the new collaborator. The caller
	// records it before doing anything else, so a crash cannot lead to a
	// second create.
	ExternalID string
	// UpToDate is true when the provider's answer shows the collaborator
	// as the spec says. A create can meet someone already there with other
	// access (QuantConnect refuses a second add, and the fresh read then
	// shows the access they had); Ready waits until the provider is seen
	// holding the spec.
	UpToDate bool
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
// What else a provider can do is declared by Capabilities; the reconcilers
// call Observe, Create and Update only when it says the provider can. (A
// client asked anyway returns an error wrapping ErrUnsupported rather than
// pretending the collaborator exists.)
type Client interface {
	// Capabilities declares what the provider's API can do.
	Capabilities() Capabilities
	// Observe reports whether the collaborator exists and is up to date.
	Observe(ctx context.Context, c *collabv1alpha1.Collaborator) (Observation, error)
	// Create adds the collaborator as the spec says.
	Create(ctx context.Context, c *collabv1alpha1.Collaborator) (Creation, error)
	// Update makes the provider's collaborator match the spec.
	Update(ctx context.Context, c *collabv1alpha1.Collaborator) error
	// Delete removes the collaborator. It returns nil only on the
	// provider's documented success or its documented "already gone"
	// answer, confirmed by a fresh read where the provider has one; any
	// other answer (another 404, a 3xx, an unexpected body) is an error,
	// and the reconciler keeps the object.
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
	// SyncInterval is the ProviderConfig's syncInterval: how old a shared
	// snapshot of a project's or application's list may be when a
	// Collaborator reads it. Zero means the factory's default.
	SyncInterval time.Duration
	// RequestsPerSecond and Burst are the request budget shared by every
	// call made with these credentials (ProviderConfig spec.rateLimit).
	// Zero means no budget.
	RequestsPerSecond, Burst int
}

// fingerprintKey keys Fingerprint's hash. It is drawn once per process, so
// a fingerprint means nothing outside this manager and cannot be used to
// test guesses of a token offline.
var fingerprintKey = func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("provider: reading random bytes for the credential fingerprint key: " + err.Error())
	}
	return k
}()

// Fingerprint identifies these credentials without revealing them: an
// HMAC-SHA256, under a per-process random key, of every key and value.
// Every cache or coalesced request of a provider includes it in its key, so
// an answer fetched with one set of credentials, a 401 included, is never
// served to a caller holding another.
func (c Credentials) Fingerprint() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := hmac.New(sha256.New, fingerprintKey)
	for _, k := range keys {
		// Length-prefixed, so that no two different maps hash alike.
		_, _ = fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(c[k]))
		_, _ = h.Write(c[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

type freshReadKey struct{}

// WithFreshRead asks the Observe calls made with ctx to read the provider
// afresh instead of a shared snapshot, as a person's reconcile request
// (collab.dev/reconcile-requested-at) does. Concurrent fresh reads of one
// project still share one request.
func WithFreshRead(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshReadKey{}, true)
}

// FreshRead reports whether ctx asks for a fresh read.
func FreshRead(ctx context.Context) bool {
	v, _ := ctx.Value(freshReadKey{}).(bool)
	return v
}

type removalKey struct{}

// WithRemoval marks the calls made with ctx as removals that are due (a
// delete, an expiry, an AccessPolicy removal): they go before any other
// call waiting on the same request budget, so revocations are never
// queued behind grants and reads.
func WithRemoval(ctx context.Context) context.Context {
	return context.WithValue(ctx, removalKey{}, true)
}

// IsRemoval reports whether ctx marks a removal.
func IsRemoval(ctx context.Context) bool {
	v, _ := ctx.Value(removalKey{}).(bool)
	return v
}
