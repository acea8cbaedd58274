package v1alpha1

// Condition types. They follow the kstatus conventions that Flux reads and
// that the operator's Argo CD health check reads: Reconciling and Stalled
// are "abnormal-true" conditions, present only while they are True.
const (
	// ConditionReady is True when the provider was last seen holding what
	// this generation's spec says (for a ProviderConfig: its credentials are
	// present and accepted).
	ConditionReady = "Ready"
	// ConditionSynced is True when the last talk with the provider succeeded.
	ConditionSynced = "Synced"
	// ConditionReconciling is True while work is under way or being retried.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when only a change by a person can help.
	ConditionStalled = "Stalled"
)

// Healthy reasons.
const (
	// ReasonAvailable: the provider holds what the spec says.
	ReasonAvailable = "Available"
	// ReasonDeleteOnly: the provider documents only a delete
	// (WebTranslateIt), so there is nothing to create or read.
	ReasonDeleteOnly = "DeleteOnly"
	// ReasonExpired: spec.expiresAt has passed and the person was removed
	// at the provider; the object stays.
	ReasonExpired = "Expired"
	// ReasonReconcileSuccess: the last talk with the provider succeeded
	// (the Synced condition's reason, as in Crossplane).
	ReasonReconcileSuccess = "ReconcileSuccess"
)

// Transient reasons: Ready=False, Reconciling=True, retried with backoff.
const (
	// ReasonCreating: the collaborator is being created at the provider.
	ReasonCreating = "Creating"
	// ReasonUpdating: the provider's collaborator is being corrected.
	ReasonUpdating = "Updating"
	// ReasonDeleting: the collaborator is being removed at the provider.
	ReasonDeleting = "Deleting"
	// ReasonProviderConfigNotFound: the referenced ProviderConfig does not
	// exist (yet).
	ReasonProviderConfigNotFound = "ProviderConfigNotFound"
	// ReasonSecretNotFound: the ProviderConfig's credentials Secret does not
	// exist (yet).
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonProviderUnavailable: 5xx, timeout or connection error.
	ReasonProviderUnavailable = "ProviderUnavailable"
	// ReasonRateLimited: the provider answered 429; retried after the
	// Retry-After it gave.
	ReasonRateLimited = "RateLimited"
)

// Terminal reasons: Ready=False, Stalled=True, retried slowly and at once
// when the spec, the ProviderConfig or the Secret changes.
const (
	// ReasonCredentialsInvalid: the Secret lacks a key, or the provider
	// refused the credentials (401/403).
	ReasonCredentialsInvalid = "CredentialsInvalid"
	// ReasonRejected: the provider refused the request as invalid.
	ReasonRejected = "Rejected"
	// ReasonExternalIDUnknown: a delete cannot name the collaborator: a
	// create was sent whose answer, with the only copy of the new id, never
	// arrived (see PendingCreateAnnotation). A person sets the id or
	// chooses Orphan.
	ReasonExternalIDUnknown = "ExternalIDUnknown"
	// ReasonProviderMismatch: the Collaborator's provider block is not the
	// one its ProviderConfig configures.
	ReasonProviderMismatch = "ProviderMismatch"
	// ReasonDrifted: with managementPolicy Observe, the provider does not
	// hold what the spec says; the operator only reports it.
	ReasonDrifted = "Drifted"
	// ReasonBaseURLNotAllowed: the ProviderConfig's baseURL matches no entry
	// of the manager's --allowed-provider-urls, so no credential is sent.
	ReasonBaseURLNotAllowed = "BaseURLNotAllowed"
	// ReasonConflict: another Collaborator owns the same grant (the same
	// person on the same target through the same credentials) and asks
	// for other access; this one writes nothing until they agree or the
	// owner goes.
	ReasonConflict = "Conflict"
	// ReasonNotPermitted: the referenced ClusterProviderConfig has no grant
	// matching this object's namespace, target, member and access, so no
	// provider call is made for it, deletion included.
	ReasonNotPermitted = "NotPermitted"
)

// ReasonKubernetesAPIError: reading or writing an object the pass needs
// (the ProviderConfig, its Secret) failed at the Kubernetes API server,
// not at the provider. Forbidden is terminal (RBAC needs a person);
// anything else is retried with backoff.
const ReasonKubernetesAPIError = "KubernetesAPIError"

// ProviderConfig reasons beyond the shared ones.
const (
	// ReasonInUse: a ProviderConfig being deleted waits for the
	// Collaborators that still use it.
	ReasonInUse = "InUse"
)

// ReasonPaused is the Synced reason while the collab.dev/paused annotation
// is "true": the operator makes no provider call for the object.
const ReasonPaused = "Paused"

// AccessPolicy reasons.
const (
	// ReasonCompliant: every member at the provider is declared by a
	// Collaborator, the owner, the ProviderConfig's own account or exempt.
	ReasonCompliant = "Compliant"
	// ReasonUnmanagedMembers: Report mode found members no Collaborator
	// declares (terminal: a person declares, exempts or removes them).
	ReasonUnmanagedMembers = "UnmanagedMembers"
	// ReasonRemovalLimit: Enforce mode would remove more than maxRemovals
	// members in one pass, so it removed none (terminal).
	ReasonRemovalLimit = "RemovalLimit"
	// ReasonWaitingForCollaborators: Enforce mode waits for an AppHarbor
	// Collaborator of the application that has no collaborator id yet,
	// since the member it is creating cannot be recognised before
	// (transient).
	ReasonWaitingForCollaborators = "WaitingForCollaborators"
)
