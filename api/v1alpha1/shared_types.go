package v1alpha1

// Names fixed by the public contract (API.md). They live with the API types
// because users type them and other tools (backups, GitOps) match on them.
const (
	// Finalizer holds a Collaborator until its provider-side delete ran.
	Finalizer = "collab.dev/finalizer"
	// InUseFinalizer holds a ProviderConfig while Collaborators reference it.
	InUseFinalizer = "collab.dev/in-use"
	// ExternalIDAnnotation records the provider's id of a collaborator once
	// known; an object carrying it is adopted rather than created again.
	ExternalIDAnnotation = "collab.dev/external-id"
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
	// name of the Secret, in the same namespace as the ProviderConfig.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ProviderConfigReference names a ProviderConfig in the Collaborator's
// namespace.
type ProviderConfigReference struct {
	// name of the ProviderConfig, in the same namespace as the Collaborator.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}
