package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AccessPolicyMode says whether an AccessPolicy only reports members no
// Collaborator declares, or removes them.
// +kubebuilder:validation:Enum=Report;Enforce
type AccessPolicyMode string

const (
	// AccessPolicyReport lists unmanaged members in status; nothing is removed.
	AccessPolicyReport AccessPolicyMode = "Report"
	// AccessPolicyEnforce removes unmanaged members at the provider, at most
	// maxRemovals in one pass.
	AccessPolicyEnforce AccessPolicyMode = "Enforce"
)

// DefaultMaxRemovals is maxRemovals when the spec leaves it unset.
const DefaultMaxRemovals = 5

// QuantConnectPolicyTarget names the QuantConnect project a policy covers.
type QuantConnectPolicyTarget struct {
	// projectID is the QuantConnect project whose whole collaborator list
	// the policy covers.
	// +required
	// +kubebuilder:validation:Minimum=1
	ProjectID int64 `json:"projectID"`
}

// AppHarborPolicyTarget names the AppHarbor application a policy covers.
type AppHarborPolicyTarget struct {
	// application is the slug of the AppHarbor application whose whole
	// collaborator list the policy covers.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Application string `json:"application"`
}

// AccessPolicySpec is the rule that a project's or application's whole
// member list is what its Collaborators declare.
// +kubebuilder:validation:XValidation:rule="[has(self.quantConnect), has(self.appHarbor)].filter(x, x).size() == 1",message="exactly one of quantConnect or appHarbor must be set (WebTranslateIt has no list)"
// +kubebuilder:validation:XValidation:rule="has(self.quantConnect) == has(oldSelf.quantConnect) && has(self.appHarbor) == has(oldSelf.appHarbor) && (!has(self.quantConnect) || self.quantConnect == oldSelf.quantConnect) && (!has(self.appHarbor) || self.appHarbor == oldSelf.appHarbor)",message="the target (quantConnect or appHarbor block) is immutable; create another AccessPolicy for another project"
type AccessPolicySpec struct {
	// providerConfigRef names the ProviderConfig (in the same namespace) or
	// the ClusterProviderConfig (kind ClusterProviderConfig, usable where one
	// of its grants permits) whose account holds the project or
	// application. Immutable: the list the policy covers is the one at that
	// account; to cover another account's, create another AccessPolicy.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="providerConfigRef is immutable: the member list this policy covers lives at that account. To cover another account's, delete this AccessPolicy and create another"
	ProviderConfigRef ProviderConfigReference `json:"providerConfigRef"`

	// quantConnect covers one QuantConnect project. Immutable.
	// +optional
	QuantConnect *QuantConnectPolicyTarget `json:"quantConnect,omitempty"`

	// appHarbor covers one AppHarbor application. Immutable.
	// +optional
	AppHarbor *AppHarborPolicyTarget `json:"appHarbor,omitempty"`

	// mode is Report (the default: list unmanaged members in status) or
	// Enforce (remove them at the provider, within maxRemovals per pass).
	// +optional
	// +kubebuilder:default=Report
	Mode AccessPolicyMode `json:"mode,omitempty"`

	// exempt are members never listed nor removed: QuantConnect user ids
	// (publicId), or AppHarbor user names or user ids. Put the AppHarbor
	// account the token belongs to here: AppHarbor cannot say whose it is.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=256
	Exempt []string `json:"exempt,omitempty"`

	// maxRemovals is the most members Enforce removes in one pass; when
	// more are unmanaged, none is removed and the policy stalls with reason
	// RemovalLimit, so that a mistake (a deleted folder of Collaborators)
	// cannot empty a project.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	MaxRemovals *int32 `json:"maxRemovals,omitempty"`
}

// UnmanagedMember is a member at the provider that no Collaborator declares.
type UnmanagedMember struct {
	// member is the QuantConnect user id, or the AppHarbor user name (with
	// its collaborator id when the name is unknown).
	// +required
	Member string `json:"member"`
	// access is the member's access: read or write with +live for
	// QuantConnect, the role for AppHarbor.
	// +optional
	Access string `json:"access,omitempty"`
	// note says why the operator never removes this member, even in
	// Enforce mode: for AppHarbor, that an administrator may be the account
	// the ProviderConfig's token belongs to, which AppHarbor does not say.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Note string `json:"note,omitempty"`
	// declaredElsewhere is true when a live Collaborator outside this
	// policy's namespace and ProviderConfig declares the member on the same
	// provider host and target: it is never removed. Nothing else about
	// that Collaborator is shown.
	// +optional
	DeclaredElsewhere bool `json:"declaredElsewhere,omitempty"`
}

// AccessPolicyStatus is what the operator last found at the provider.
type AccessPolicyStatus struct {
	// observedGeneration is the metadata.generation this status describes.
	// +optional
	// +kubebuilder:default=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Synced, Reconciling and Stalled, as for a
	// Collaborator.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// members is how many members the provider lists, owner included.
	// +optional
	// +kubebuilder:default=0
	Members int32 `json:"members"`

	// managed is how many of them a Collaborator declares.
	// +optional
	// +kubebuilder:default=0
	Managed int32 `json:"managed"`

	// unmanagedCount is len(unmanaged), for the printer column.
	// +optional
	// +kubebuilder:default=0
	UnmanagedCount int32 `json:"unmanagedCount"`

	// unmanaged are the members at the provider that no Collaborator
	// declares; the owner, the ProviderConfig's own account and exempt
	// members are never listed.
	// +optional
	// +listType=atomic
	Unmanaged []UnmanagedMember `json:"unmanaged,omitempty"`

	// lastSyncTime is when the provider's list was last read successfully
	// and changed this status.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`

	// provider and target summarise the spec for `kubectl get`.
	// provider is QuantConnect or AppHarbor.
	// +optional
	Provider string `json:"provider,omitempty"`
	// target is the project id or application slug.
	// +optional
	Target string `json:"target,omitempty"`
}

// AccessPolicy says that a QuantConnect project's or AppHarbor
// application's whole member list is what the namespace's Collaborators
// declare, and reports (or, in Enforce mode, removes) everyone else.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=collaboration,shortName=accesspol
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.status.provider`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.status.target`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Managed",type=integer,JSONPath=`.status.managed`
// +kubebuilder:printcolumn:name="Unmanaged",type=integer,JSONPath=`.status.unmanagedCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccessPolicy struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the policy.
	// +required
	Spec AccessPolicySpec `json:"spec"`

	// status is what the operator last found.
	// It is never absent: the API server fills in observedGeneration 0,
	// which no generation equals, so kstatus (Flux) and the Argo CD health
	// check read a new object as in progress from the moment it is
	// created, before the operator has written anything.
	// +kubebuilder:default={}
	// +optional
	Status AccessPolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// AccessPolicyList is a list of AccessPolicies.
type AccessPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the AccessPolicies.
	Items []AccessPolicy `json:"items"`
}

// ProviderName is QuantConnect or AppHarbor, by the block the spec sets.
func (s *AccessPolicySpec) ProviderName() string {
	switch {
	case s.QuantConnect != nil:
		return ProviderQuantConnect
	case s.AppHarbor != nil:
		return ProviderAppHarbor
	}
	return ""
}

// MaxRemovalsOrDefault is maxRemovals, or its default when unset.
func (s *AccessPolicySpec) MaxRemovalsOrDefault() int {
	if s.MaxRemovals == nil {
		return DefaultMaxRemovals
	}
	return int(*s.MaxRemovals)
}
