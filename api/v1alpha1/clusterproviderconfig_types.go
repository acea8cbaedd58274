package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Access levels a grant's maxAccess may name, lowest first per provider.
const (
	// AccessRead is QuantConnect read access.
	AccessRead = "read"
	// AccessWrite is QuantConnect write access without live control.
	AccessWrite = "write"
	// AccessWriteLive is QuantConnect write access with live control.
	AccessWriteLive = "write+live"
	// AccessCollaborator is the AppHarbor collaborator role.
	AccessCollaborator = "collaborator"
	// AccessAdministrator is the AppHarbor administrator role.
	AccessAdministrator = "administrator"
)

// ClusterProviderConfigSpec is a ProviderConfig's spec plus the grants that
// bound which namespaces may use it, on which targets, for which members,
// up to which access.
// +kubebuilder:validation:XValidation:rule="!has(self.webTranslateIt) || self.grants.all(g, !has(g.targets) && !has(g.maxAccess))",message="a webTranslateIt grant takes neither targets (the token selects the organization) nor maxAccess (membership has no levels)"
// +kubebuilder:validation:XValidation:rule="!has(self.quantConnect) || self.grants.all(g, !has(g.maxAccess) || g.maxAccess in ['read', 'write', 'write+live'])",message="a quantConnect grant's maxAccess is read, write or write+live"
// +kubebuilder:validation:XValidation:rule="!has(self.appHarbor) || self.grants.all(g, !has(g.maxAccess) || g.maxAccess in ['collaborator', 'administrator'])",message="an appHarbor grant's maxAccess is collaborator or administrator"
type ClusterProviderConfigSpec struct {
	ProviderConfigSpec `json:",inline"`

	// grants say who may use these credentials for what. A Collaborator or
	// AccessPolicy may use them only when one grant matches its namespace,
	// its target and its member and allows the access it asks for;
	// otherwise it is Stalled with reason NotPermitted and no provider call
	// is made for it.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	Grants []ClusterGrant `json:"grants"`
}

// ClusterGrant lets the namespaces it selects use a ClusterProviderConfig
// on some targets, for some members, up to some access.
// +kubebuilder:validation:XValidation:rule="has(self.namespaces) || has(self.namespaceSelector)",message="a grant names namespaces, a namespaceSelector, or both ({} selects every namespace)"
type ClusterGrant struct {
	// namespaces this grant applies to, by name.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	Namespaces []string `json:"namespaces,omitempty"`

	// namespaceSelector selects the namespaces this grant applies to by
	// their labels; {} selects every namespace. A namespace matches when
	// it is listed in namespaces or selected here.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// targets are the QuantConnect project ids or AppHarbor application
	// slugs this grant covers, where * matches any run of characters.
	// Omitted: every target.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=254
	// +kubebuilder:validation:items:Pattern=`^[^\s?\[\]\\]+$`
	Targets []string `json:"targets,omitempty"`

	// members are the QuantConnect user ids or the emails this grant
	// covers, where * matches any run of characters (emails compare
	// case-insensitively). Omitted: every member.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=254
	// +kubebuilder:validation:items:Pattern=`^[^\s?\[\]\\]+$`
	Members []string `json:"members,omitempty"`

	// maxAccess is the most this grant allows: QuantConnect read < write <
	// write+live (liveControl needs write+live), AppHarbor collaborator <
	// administrator. Omitted: the provider's highest. WebTranslateIt has
	// no levels and takes none.
	// +optional
	// +kubebuilder:validation:Enum=read;write;write+live;collaborator;administrator
	MaxAccess string `json:"maxAccess,omitempty"`
}

// ClusterProviderConfigStatus is what the operator last observed of a
// ClusterProviderConfig.
type ClusterProviderConfigStatus struct {
	ProviderConfigStatus `json:",inline"`

	// grants is the number of grants in the spec, for display.
	// +optional
	Grants int32 `json:"grants,omitempty"`
}

// ClusterProviderConfig holds one set of provider credentials for the
// whole cluster and bounds, by its grants, which namespaces may use them
// for what. Its Secret lives in the manager's cluster resource namespace,
// so the teams using it never need to read it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=collaboration,shortName=collabcpc
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.status.provider`
// +kubebuilder:printcolumn:name="Grants",type=integer,JSONPath=`.status.grants`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterProviderConfig struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says which provider, where, with which credentials, and who may
	// use them for what.
	// +required
	Spec ClusterProviderConfigSpec `json:"spec"`

	// status is what the operator last observed; never absent, as for
	// ProviderConfig, so a new object reads as in progress.
	// +kubebuilder:default={}
	// +optional
	Status ClusterProviderConfigStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterProviderConfigList is a list of ClusterProviderConfigs.
type ClusterProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the ClusterProviderConfigs.
	Items []ClusterProviderConfig `json:"items"`
}
