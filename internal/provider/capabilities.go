package provider

// Capabilities are what a provider's API can do. The reconcilers branch on
// them, never on an error or on which interfaces a client happens to have,
// so a new provider states its limits in one place and the reconcilers
// treat it correctly from the start.
type Capabilities struct {
	// Read: the provider can say whether a collaborator exists and what
	// access it has (Observe answers). Without it Observe must not be
	// called and a Collaborator is reported DeleteOnly.
	Read bool
	// Create and Update: the provider can add a collaborator and change
	// one's access.
	Create, Update bool
	// ListMembers: the client also implements Lister (a whole project's or
	// application's member list), so AccessPolicies can cover it.
	ListMembers bool
	// NamesOwnAccount: the member list flags the credentials' own account
	// (Member.Self). Without it an AccessPolicy cannot tell that account
	// from others and must never remove the members who could be it.
	NamesOwnAccount bool
	// CheckCredentials: the client also implements Authenticator, a check
	// of the credentials without side effects.
	CheckCredentials bool
	// ConfirmDeleteByRead: an "already gone" answer to a delete can be
	// confirmed by a fresh read, and the client does so before it reports
	// ClassNotFound from Delete.
	ConfirmDeleteByRead bool
	// CreateAnswerIsTheOnlyID: the provider names a new collaborator only in
	// the answer to its create (AppHarbor's Location header); nothing can
	// be read later to learn the id if that answer is lost. The reconciler
	// then marks the object before each create (see
	// collabv1alpha1.PendingCreateAnnotation).
	CreateAnswerIsTheOnlyID bool
}
