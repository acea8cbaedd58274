package provider

import (
	"context"
	"time"
)

// Target names the whole list an AccessPolicy covers: a QuantConnect
// project or an AppHarbor application.
type Target struct {
	// ProjectID is the QuantConnect project, or zero.
	ProjectID int64
	// Application is the AppHarbor application slug, or "".
	Application string
}

// Member is one entry of a project's or application's member list.
type Member struct {
	// ID is what the provider's delete names the member by: the
	// QuantConnect user id (publicId) or the AppHarbor collaborator id.
	ID string
	// Label is how people name the member: the QuantConnect user id, the
	// AppHarbor user name.
	Label string
	// UserID is the provider's id of the person: QuantConnect's numeric
	// uid, AppHarbor's user id.
	UserID string
	// Name is the display name (QuantConnect) or user name (AppHarbor).
	Name string
	// Email is the person's email where the list has it (QuantConnect).
	Email string
	// Access is "read" or "write", with "+live" for live control
	// (QuantConnect), or the role (AppHarbor).
	Access string
	// Owner marks the project's owner, whom the collaboration API cannot
	// remove.
	Owner bool
	// Self marks the account the credentials belong to, where the
	// provider lets us know it.
	Self bool
	// Write and LiveControl are QuantConnect's rights, for manifests.
	Write, LiveControl bool
}

// Lister is offered by providers whose API lists a whole project or
// application (QuantConnect, AppHarbor; WebTranslateIt has no list). It
// reads the same shared snapshot as the Collaborators' Observe, so a
// project whose Collaborators are observed costs no extra read.
type Lister interface {
	// ListMembers returns every member of the target, the owner included,
	// and when the provider gave that answer.
	ListMembers(ctx context.Context, t Target) ([]Member, time.Time, error)
	// RemoveMember removes one member through the provider's documented
	// delete; one already gone is success. It refuses the owner and the
	// credentials' own account.
	RemoveMember(ctx context.Context, t Target, m Member) error
}
