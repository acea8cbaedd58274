package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeletionPolicy says what happens at the provider when a Collaborator is
// deleted.
// +kubebuilder:validation:Enum=Delete;Orphan
type DeletionPolicy string

const (
	// DeletionDelete removes the person at the provider before the object goes.
	DeletionDelete DeletionPolicy = "Delete"
	// DeletionOrphan leaves the person at the provider; nothing is called.
	DeletionOrphan DeletionPolicy = "Orphan"
)

// ManagementPolicy says whether the operator may change the provider.
// +kubebuilder:validation:Enum=Full;Observe
type ManagementPolicy string

const (
	// ManagementFull creates, corrects and deletes at the provider.
	ManagementFull ManagementPolicy = "Full"
	// ManagementObserve only reads and reports; deletion behaves as Orphan.
	ManagementObserve ManagementPolicy = "Observe"
)

// AppHarborRole is an AppHarbor collaborator's access level.
// +kubebuilder:validation:Enum=collaborator;administrator
type AppHarborRole string

const (
	// AppHarborRoleCollaborator may deploy and configure the application.
	AppHarborRoleCollaborator AppHarborRole = "collaborator"
	// AppHarborRoleAdministrator may also manage collaborators and billing.
	AppHarborRoleAdministrator AppHarborRole = "administrator"
)

// QuantConnectCollaborator is a person's collaboration on one QuantConnect
// project. QuantConnect identifies it by (projectID, userID).
type QuantConnectCollaborator struct {
	// projectID is the QuantConnect project to share. Immutable.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="projectID is immutable; delete and re-create the Collaborator to move it"
	ProjectID int64 `json:"projectID"`

	// userID is the collaborator's QuantConnect user id, as in their profile
	// URL (https://www.quantconnect.com/u/<userID>). Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="userID is immutable; delete and re-create the Collaborator to change it"
	UserID string `json:"userID"`

	// liveControl lets the collaborator control the project's live
	// algorithms (deploy, liquidate, stop).
	// +optional
	// +kubebuilder:default=false
	LiveControl bool `json:"liveControl"`

	// write gives the collaborator write permission on the project; false
	// gives read permission.
	// +optional
	// +kubebuilder:default=false
	Write bool `json:"write"`
}

// AppHarborCollaborator is a person's collaboration on one AppHarbor
// application.
type AppHarborCollaborator struct {
	// application is the slug of the AppHarbor application. Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="application is immutable; delete and re-create the Collaborator to move it"
	Application string `json:"application"`

	// email of the person to add; AppHarbor invites them by it. Immutable.
	// +required
	// +kubebuilder:validation:Format=email
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="email is immutable; delete and re-create the Collaborator to change it"
	Email string `json:"email"`

	// role is the access level: collaborator or administrator.
	// +optional
	// +kubebuilder:default=collaborator
	Role AppHarborRole `json:"role,omitempty"`
}

// WebTranslateItCollaborator is a person's membership of the WebTranslateIt
// organization that the ProviderConfig's token selects. WebTranslateIt
// documents only a delete, so the operator never creates or reads it: it
// removes the person from the organization when the Collaborator is deleted.
type WebTranslateItCollaborator struct {
	// email of the organization member. Immutable.
	// +required
	// +kubebuilder:validation:Format=email
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="email is immutable; delete and re-create the Collaborator to change it"
	Email string `json:"email"`
}

// CollaboratorSpec is one person's desired access to one provider object.
// +kubebuilder:validation:XValidation:rule="[has(self.quantConnect), has(self.appHarbor), has(self.webTranslateIt)].filter(x, x).size() == 1",message="exactly one of quantConnect, appHarbor or webTranslateIt must be set"
// +kubebuilder:validation:XValidation:rule="has(self.quantConnect) == has(oldSelf.quantConnect) && has(self.appHarbor) == has(oldSelf.appHarbor) && has(self.webTranslateIt) == has(oldSelf.webTranslateIt)",message="the provider block cannot be switched; delete and re-create the Collaborator"
type CollaboratorSpec struct {
	// providerConfigRef names the ProviderConfig (in the same namespace) or
	// the ClusterProviderConfig (kind ClusterProviderConfig, usable where one
	// of its grants permits) that says where the provider is and which
	// credentials to use. Immutable: the person's access lives at that
	// account, so moving it would leave them there. To move a person, set
	// deletionPolicy Orphan, delete this object, and re-create it with the
	// collab.dev/external-id annotation under the new reference.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="providerConfigRef is immutable: the person's access lives at that account. To move it, set deletionPolicy Orphan, delete this Collaborator and re-create it with the collab.dev/external-id annotation"
	ProviderConfigRef ProviderConfigReference `json:"providerConfigRef"`

	// deletionPolicy says what deleting this object does at the provider:
	// Delete removes the person there first; Orphan leaves them. It may be
	// changed at any time, also while the object is being deleted: Orphan
	// releases an object whose delete is blocked by a provider or
	// credentials that are gone for good.
	// +optional
	// +kubebuilder:default=Delete
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// expiresAt is when the access ends (RFC 3339). At that time the
	// operator removes the person at the provider as a delete would, and
	// the object stays, Ready with reason Expired. Moving it into the
	// future, or removing it, grants access again.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// managementPolicy is Full (the default: create, correct and delete at
	// the provider) or Observe (read and report only, never write; deleting
	// the object leaves the person, as Orphan does).
	// +optional
	// +kubebuilder:default=Full
	ManagementPolicy ManagementPolicy `json:"managementPolicy,omitempty"`

	// quantConnect makes the person a collaborator on a QuantConnect project.
	// +optional
	QuantConnect *QuantConnectCollaborator `json:"quantConnect,omitempty"`

	// appHarbor makes the person a collaborator on an AppHarbor application.
	// +optional
	AppHarbor *AppHarborCollaborator `json:"appHarbor,omitempty"`

	// webTranslateIt manages the person's WebTranslateIt organization
	// membership; only its removal is possible.
	// +optional
	WebTranslateIt *WebTranslateItCollaborator `json:"webTranslateIt,omitempty"`
}

// QuantConnectObservation is the collaborator as QuantConnect last reported
// it.
type QuantConnectObservation struct {
	// uid is QuantConnect's numeric user id.
	// +optional
	UID int64 `json:"uid,omitempty"`
	// publicID is the user id used in requests and profile URLs.
	// +optional
	PublicID string `json:"publicID,omitempty"`
	// name is the user's display name.
	// +optional
	Name string `json:"name,omitempty"`
	// email is the user's registered email.
	// +optional
	Email string `json:"email,omitempty"`
	// permission is read or write.
	// +optional
	Permission string `json:"permission,omitempty"`
	// liveControl says whether the user controls live algorithms.
	// +optional
	LiveControl bool `json:"liveControl,omitempty"`
	// owner says whether the user owns the project.
	// +optional
	Owner bool `json:"owner,omitempty"`
}

// AppHarborObservation is the collaborator as AppHarbor last reported it.
type AppHarborObservation struct {
	// id of the collaborator, from the Location of its creation.
	// +optional
	ID string `json:"id,omitempty"`
	// userID is AppHarbor's id of the user.
	// +optional
	UserID string `json:"userID,omitempty"`
	// userName is the user's name at AppHarbor.
	// +optional
	UserName string `json:"userName,omitempty"`
	// role is the access level AppHarbor holds.
	// +optional
	Role string `json:"role,omitempty"`
	// url of the collaborator resource at AppHarbor.
	// +optional
	URL string `json:"url,omitempty"`
}

// CollaboratorStatus is what the operator last observed of a Collaborator.
type CollaboratorStatus struct {
	// observedGeneration is the metadata.generation this status describes;
	// written on every status write, failures included.
	// +optional
	// +kubebuilder:default=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (the provider was last seen holding what this
	// generation's spec says), Synced (the last talk with the provider
	// succeeded), Reconciling (work under way or retried) and Stalled (only
	// a change by a person can help).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// lastSyncTime is when a successful talk with the provider last changed
	// this status. A periodic re-read that finds nothing new writes nothing
	// (that would cost an API-server write per object per syncInterval), so
	// it can be older than the last re-read; Synced=True says the re-reads
	// still succeed.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`

	// provider, target, member and access summarise the spec for
	// `kubectl get`. The controller computes them, because which provider
	// block is set cannot be expressed as a printer column path.
	// provider is QuantConnect, AppHarbor or WebTranslateIt.
	// +optional
	Provider string `json:"provider,omitempty"`
	// target is the project id, application slug or "organization".
	// +optional
	Target string `json:"target,omitempty"`
	// member is the user id or email of the person.
	// +optional
	Member string `json:"member,omitempty"`
	// access is the permission (read or write, with +live for live control)
	// or the role.
	// +optional
	Access string `json:"access,omitempty"`

	// expiresAt mirrors spec.expiresAt, for the EXPIRES printer column.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// lastHandledReconcileAt is the last value of the
	// collab.dev/reconcile-requested-at annotation that a pass handled
	// (with a fresh provider read).
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`

	// expiryNotice records the ExpiringSoon Event sent for the current
	// spec.expiresAt, so that each expiresAt value gets one notice, also
	// across manager restarts.
	// +optional
	ExpiryNotice *ExpiryNotice `json:"expiryNotice,omitempty"`

	// quantConnect is the collaborator as QuantConnect last reported it.
	// +optional
	QuantConnect *QuantConnectObservation `json:"quantConnect,omitempty"`

	// appHarbor is the collaborator as AppHarbor last reported it.
	// +optional
	AppHarbor *AppHarborObservation `json:"appHarbor,omitempty"`
}

// Collaborator is one person's access to one provider object: a
// QuantConnect project, an AppHarbor application or a WebTranslateIt
// organization.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=collaboration,shortName=collab
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.status.provider`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.status.target`
// +kubebuilder:printcolumn:name="Member",type=string,JSONPath=`.status.member`
// +kubebuilder:printcolumn:name="Access",type=string,JSONPath=`.status.access`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Expires",type=date,JSONPath=`.status.expiresAt`,priority=1
type Collaborator struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired access.
	// +required
	Spec CollaboratorSpec `json:"spec"`

	// status is what the operator last observed.
	// It is never absent: the API server fills in observedGeneration 0,
	// which no generation equals, so kstatus (Flux) and the Argo CD health
	// check read a new object as in progress from the moment it is
	// created, before the operator has written anything.
	// +kubebuilder:default={}
	// +optional
	Status CollaboratorStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CollaboratorList is a list of Collaborators.
type CollaboratorList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the Collaborators.
	Items []Collaborator `json:"items"`
}

// ExpiryNotice is the ExpiringSoon Event the operator sent for one
// spec.expiresAt value.
type ExpiryNotice struct {
	// expiresAt is the spec.expiresAt value the notice announced.
	// +required
	ExpiresAt metav1.Time `json:"expiresAt"`
	// sentAt is when the Event was sent.
	// +required
	SentAt metav1.Time `json:"sentAt"`
}
