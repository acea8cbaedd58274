package v1alpha1

import (
	"strconv"
	"time"
)

// Names fixed by the public contract (API.md). They live with the API types
// because users type them and other tools (backups, GitOps) match on them.
const (
	// Finalizer holds a Collaborator until its provider-side delete ran.
	Finalizer = "collab.dev/finalizer"
	// InUseFinalizer holds a ProviderConfig while Collaborators reference
	// it, and the ProviderConfig's credentials Secret while such a
	// ProviderConfig is in use, so a pending delete never loses what it
	// needs to reach the provider.
	InUseFinalizer = "collab.dev/in-use"
	// ExternalIDAnnotation records the provider's id of a collaborator once
	// known; an object carrying it is adopted rather than created again.
	ExternalIDAnnotation = "collab.dev/external-id"
	// PendingCreateAnnotation is set by the operator, before it asks a
	// provider that names a new collaborator only in the create's answer
	// (AppHarbor) to add one, and removed once the id is recorded. If the
	// answer is lost (a dropped connection, a killed manager), it tells
	// that someone may have been added whose id the operator does not
	// know: a delete of such an object waits for a person instead of
	// removing nobody.
	PendingCreateAnnotation = "collab.dev/create-pending"
	// PausedAnnotation set to "true" stops every provider call for the
	// object, its deletion included.
	PausedAnnotation = "collab.dev/paused"
	// ReconcileRequestedAtAnnotation: a new value runs a pass at once with
	// a fresh provider read (Flux's reconcile.fluxcd.io/requestedAt).
	ReconcileRequestedAtAnnotation = "collab.dev/reconcile-requested-at"
)

// Provider names, as shown in the PROVIDER printer column.
const (
	// ProviderQuantConnect names QuantConnect project collaboration.
	ProviderQuantConnect = "QuantConnect"
	// ProviderAppHarbor names AppHarbor application collaboration.
	ProviderAppHarbor = "AppHarbor"
	// ProviderWebTranslateIt names WebTranslateIt organization collaboration.
	ProviderWebTranslateIt = "WebTranslateIt"
)

// SecretReference names a Secret in the referencing object's namespace.
// Cross-namespace references are deliberately impossible: a namespace's
// users must not be able to borrow another namespace's credentials.
type SecretReference struct {
	// name of the Secret: in the ProviderConfig's namespace, or, for a
	// ClusterProviderConfig, in the namespace named by the manager's
	// --cluster-resource-namespace flag.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// Kinds a providerConfigRef may name.
const (
	// KindProviderConfig is the namespaced credentials kind, in the
	// referencing object's namespace.
	KindProviderConfig = "ProviderConfig"
	// KindClusterProviderConfig is the cluster-scoped credentials kind,
	// usable only where one of its grants permits.
	KindClusterProviderConfig = "ClusterProviderConfig"
)

// ProviderConfigReference names a ProviderConfig in the referencing
// object's namespace, or a ClusterProviderConfig.
type ProviderConfigReference struct {
	// kind of the credentials object: ProviderConfig (in the same
	// namespace) or ClusterProviderConfig.
	// +optional
	// +kubebuilder:default=ProviderConfig
	// +kubebuilder:validation:Enum=ProviderConfig;ClusterProviderConfig
	Kind string `json:"kind,omitempty"`

	// name of the ProviderConfig (in the same namespace) or of the
	// ClusterProviderConfig.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// IsCluster reports whether the reference names a ClusterProviderConfig.
func (r ProviderConfigReference) IsCluster() bool {
	return r.Kind == KindClusterProviderConfig
}

// ProviderName says which provider block the spec sets, or "" when none is
// (the schema refuses that, so "" means an object that bypassed it).
func (s *CollaboratorSpec) ProviderName() string {
	switch {
	case s.QuantConnect != nil:
		return ProviderQuantConnect
	case s.AppHarbor != nil:
		return ProviderAppHarbor
	case s.WebTranslateIt != nil:
		return ProviderWebTranslateIt
	}
	return ""
}

// Summary is a Collaborator spec as kubectl get, kubectl collab access and
// grant checks show it.
// +kubebuilder:object:generate=false
type Summary struct {
	// Provider is QuantConnect, AppHarbor or WebTranslateIt.
	Provider string
	// Target is the QuantConnect project id, the AppHarbor application slug,
	// or "organization" for WebTranslateIt.
	Target string
	// Member is the QuantConnect user id, or the email.
	Member string
	// Access is read, write or write+live for QuantConnect, the AppHarbor
	// role, or "member" for WebTranslateIt.
	Access string
}

// Summary summarises the spec; the zero Summary when no provider block is
// set.
func (s *CollaboratorSpec) Summary() Summary {
	switch {
	case s.QuantConnect != nil:
		access := AccessRead
		if s.QuantConnect.Write {
			access = AccessWrite
		}
		if s.QuantConnect.LiveControl {
			access += "+live"
		}
		return Summary{ProviderQuantConnect, strconv.FormatInt(s.QuantConnect.ProjectID, 10), s.QuantConnect.UserID, access}
	case s.AppHarbor != nil:
		role := s.AppHarbor.Role
		if role == "" {
			role = AppHarborRoleCollaborator // the schema's default
		}
		return Summary{ProviderAppHarbor, s.AppHarbor.Application, s.AppHarbor.Email, string(role)}
	case s.WebTranslateIt != nil:
		return Summary{ProviderWebTranslateIt, "organization", s.WebTranslateIt.Email, "member"}
	}
	return Summary{}
}

// ExpiredAt reports whether spec.expiresAt has passed at t.
func (s *CollaboratorSpec) ExpiredAt(t time.Time) bool {
	return s.ExpiresAt != nil && !t.Before(s.ExpiresAt.Time)
}

// Endpoint is where a ProviderConfig points: the provider, its base URL and
// the Secret with its credentials.
type Endpoint struct {
	// Provider is ProviderQuantConnect, ProviderAppHarbor or
	// ProviderWebTranslateIt.
	Provider string
	// BaseURL is the provider API's base URL.
	BaseURL string
	// SecretName names the credentials Secret in the same namespace.
	SecretName string
}

// Endpoint returns the configured provider block's settings, or ok=false
// when no block is set.
func (s *ProviderConfigSpec) Endpoint() (e Endpoint, ok bool) {
	switch {
	case s.QuantConnect != nil:
		return Endpoint{ProviderQuantConnect, s.QuantConnect.BaseURL, s.QuantConnect.CredentialsSecretRef.Name}, true
	case s.AppHarbor != nil:
		return Endpoint{ProviderAppHarbor, s.AppHarbor.BaseURL, s.AppHarbor.CredentialsSecretRef.Name}, true
	case s.WebTranslateIt != nil:
		return Endpoint{ProviderWebTranslateIt, s.WebTranslateIt.BaseURL, s.WebTranslateIt.CredentialsSecretRef.Name}, true
	}
	return Endpoint{}, false
}

// DefaultSyncInterval is the syncInterval of a ProviderConfig that leaves
// it unset. The API server defaults the field, so this covers only objects
// that bypassed defaulting; it is the one place the default is computed.
const DefaultSyncInterval = 10 * time.Minute

// SyncIntervalOrDefault is how often a Ready Collaborator using this
// ProviderConfig is read again.
func (s *ProviderConfigSpec) SyncIntervalOrDefault() time.Duration {
	if s.SyncInterval != nil && s.SyncInterval.Duration > 0 {
		return s.SyncInterval.Duration
	}
	return DefaultSyncInterval
}

// DefaultExpiryNotice is how long before spec.expiresAt a Collaborator
// gets its ExpiringSoon Event when its ProviderConfig sets no expiryNotice.
const DefaultExpiryNotice = 168 * time.Hour

// ExpiryNoticeOrDefault is spec.expiryNotice, or DefaultExpiryNotice when
// unset; 0 means no notice.
func (s *ProviderConfigSpec) ExpiryNoticeOrDefault() time.Duration {
	if s.ExpiryNotice != nil {
		return s.ExpiryNotice.Duration
	}
	return DefaultExpiryNotice
}

// Default request budget of a ProviderConfig without rateLimit: well under
// what the providers' public APIs tolerate for one account, and enough for
// hundreds of changes a minute.
const (
	// DefaultRequestsPerSecond is the sustained rate.
	DefaultRequestsPerSecond = 10
	// DefaultBurst is the burst.
	DefaultBurst = 20
)

// Budget returns the rate and burst of the ProviderConfig's request
// budget, filling the defaults.
func (s *ProviderConfigSpec) Budget() (requestsPerSecond, burst int) {
	if s.RateLimit == nil || s.RateLimit.RequestsPerSecond < 1 {
		return DefaultRequestsPerSecond, DefaultBurst
	}
	rps := int(s.RateLimit.RequestsPerSecond)
	if s.RateLimit.Burst >= 1 {
		return rps, int(s.RateLimit.Burst)
	}
	return rps, 2 * rps
}
