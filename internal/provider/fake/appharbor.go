package fake

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// appHarbor behaves like internal/provider/appharbor: a collaborator is
// known only by the id its create's answer tells, so a Collaborator
// without a recorded id cannot be observed, updated or deleted; a second
// invitation of an email is refused (400) and the refusal returned, as
// the real client does; a 404 to a delete counts as "already gone" only
// when a fresh read of the application confirms it.
type appHarbor struct{}

var (
	_ adapter     = appHarbor{}
	_ listAdapter = appHarbor{}
)

// appHarborURL is where AppHarbor says a collaborator lives (the create's
// Location, list items' url).
func appHarborURL(slug, id string) string {
	return "https://appharbor.com/applications/" + url.PathEscape(slug) + "/collaborators/" + url.PathEscape(id)
}

func ahSpec(col *collabv1alpha1.Collaborator, op string) (*collabv1alpha1.AppHarborCollaborator, provider.Target, error) {
	if col == nil || col.Spec.AppHarbor == nil {
		return nil, provider.Target{}, rejectedSpec(collabv1alpha1.ProviderAppHarbor, op, "appHarbor")
	}
	s := col.Spec.AppHarbor
	return s, provider.Target{Application: s.Application}, nil
}

func ahRole(s *collabv1alpha1.AppHarborCollaborator) string {
	if s.Role == "" {
		return string(collabv1alpha1.AppHarborRoleCollaborator)
	}
	return string(s.Role)
}

// ahGet reads one collaborator by id with request op; Gone (a 404 for the
// id) and a missing one both give nil.
func (c *Client) ahGet(op Op, t provider.Target, id string) (*Member, time.Time, error) {
	heard, found := exchange(c.p, c.call(op, t, id, ""), func(*Call) (Answer, *Member) {
		if m, ok := c.p.targetLocked(t)[id]; ok {
			copied := *m
			return Answer{}, &copied
		}
		return Answer{}, nil
	})
	switch heard.Kind {
	case OK:
		return found, c.p.now(), nil
	case Gone:
		return nil, c.p.now(), nil
	default:
		return nil, time.Time{}, c.p.errorFor("read collaborator", heard)
	}
}

// ahDelete sends the DELETE for id and, on a 404, the confirming read.
// It returns nil when the delete succeeded or its 404 is confirmed by a
// fresh read, as the real client does, and an error otherwise.
func (c *Client) ahDelete(op Op, t provider.Target, id string) error {
	heard, _ := exchange(c.p, c.call(op, t, id, ""), func(*Call) (Answer, struct{}) {
		ms := c.p.targetLocked(t)
		if _, ok := ms[id]; !ok {
			return gone("Collaborator not found"), struct{}{}
		}
		delete(ms, id)
		c.p.version++
		return Answer{}, struct{}{}
	})
	switch heard.Kind {
	case OK:
		return nil
	case Gone:
	default:
		return c.p.errorFor("delete collaborator", heard)
	}
	perr := &provider.Error{Provider: c.p.name, Op: "delete collaborator", Class: provider.ClassNotFound,
		StatusCode: 404, Message: heard.Message}
	if perr.Message == "" {
		perr.Message = "Collaborator not found"
	}
	found, _, readErr := c.ahGet(OpConfirm, t, id)
	switch {
	case readErr != nil:
		return fmt.Errorf("the delete answered 404 and reading the application to confirm the collaborator is gone failed: %w", readErr)
	case found != nil:
		return fmt.Errorf("the delete answered 404 but the application still lists it: %w",
			withClass(perr, provider.ClassUnavailable, ""))
	}
	return nil
}

// observe finds the collaborator by its recorded id. Without one it
// reports the collaborator absent without asking: AppHarbor's list has no
// email, so the person cannot be recognised in it.
func (appHarbor) observe(c *Client, col *collabv1alpha1.Collaborator) (provider.Observation, error) {
	s, t, err := ahSpec(col, "read collaborator")
	if err != nil {
		return provider.Observation{}, err
	}
	id := externalID(col)
	if id == "" {
		return provider.Observation{}, nil
	}
	found, at, err := c.ahGet(OpObserve, t, id)
	if err != nil {
		return provider.Observation{}, fmt.Errorf("observing AppHarbor collaborator %s of %s: %w", id, s.Application, err)
	}
	if found == nil {
		// As the real client: a user recorded earlier is recognised in
		// the list under a new collaborator id.
		again := c.p.sameUser(t, col)
		if again == nil {
			return provider.Observation{ExternalID: id, ObservedAt: at}, nil
		}
		found, id = again, again.ID
	}
	col.Status.AppHarbor = &collabv1alpha1.AppHarborObservation{
		ID: id, UserID: found.UserID, UserName: found.Name, Role: found.Role, URL: appHarborURL(s.Application, id),
	}
	obs := provider.Observation{Exists: true, UpToDate: strings.EqualFold(found.Role, ahRole(s)), ExternalID: id, ObservedAt: at}
	if !obs.UpToDate {
		obs.Difference = fmt.Sprintf("role is %s, the spec wants %s", found.Role, ahRole(s))
	}
	return obs, nil
}

// create invites the email. The new id is in the answer only: under Lost
// the collaborator exists and nobody is told its id.
func (appHarbor) create(c *Client, col *collabv1alpha1.Collaborator) (provider.Creation, error) {
	s, t, err := ahSpec(col, "create collaborator")
	if err != nil {
		return provider.Creation{}, err
	}
	heard, id := exchange(c.p, c.call(OpCreate, t, "", s.Email), func(call *Call) (Answer, string) {
		for _, m := range c.p.targetLocked(t) {
			if strings.EqualFold(m.Email, s.Email) {
				return refusal(fmt.Sprintf("%s is already a collaborator on %s.", s.Email, s.Application)), ""
			}
		}
		stored := c.p.putLocked(t, Member{Email: s.Email, Role: ahRole(s)})
		call.Member = stored.ID
		return Answer{}, stored.ID
	})
	if heard.Kind != OK {
		perr := c.p.errorFor("create collaborator", heard)
		if heard.Kind == Gone {
			// A 404 on create is the application, not the collaborator:
			// only a person can fix the slug or the token's access.
			perr.Class, perr.Message = provider.ClassRejected, "application not found"
		}
		return provider.Creation{}, fmt.Errorf("creating AppHarbor collaborator %s on %s: %w", s.Email, s.Application, perr)
	}
	col.Status.AppHarbor = &collabv1alpha1.AppHarborObservation{ID: id, Role: ahRole(s), URL: appHarborURL(s.Application, id)}
	return provider.Creation{ExternalID: id, UpToDate: true}, nil
}

// update sets the role of the recorded id; a collaborator that is gone is
// ClassNotFound, so the reconciler creates it again.
func (appHarbor) update(c *Client, col *collabv1alpha1.Collaborator) error {
	s, t, err := ahSpec(col, "update collaborator")
	if err != nil {
		return err
	}
	id := externalID(col)
	if id == "" {
		return &provider.Error{Provider: c.p.name, Op: "update collaborator", Class: provider.ClassNotFound,
			Message: "no collaborator id recorded; it must be created first"}
	}
	heard, _ := exchange(c.p, c.call(OpUpdate, t, id, ""), func(*Call) (Answer, struct{}) {
		m, ok := c.p.targetLocked(t)[id]
		if !ok {
			return gone("Collaborator not found"), struct{}{}
		}
		m.Role = ahRole(s)
		c.p.version++
		return Answer{}, struct{}{}
	})
	if heard.Kind != OK {
		perr := c.p.errorFor("update collaborator", heard)
		if heard.Kind == Gone {
			perr.Class = provider.ClassNotFound
		}
		return fmt.Errorf("updating AppHarbor collaborator %s on %s: %w", id, s.Application, perr)
	}
	if col.Status.AppHarbor == nil {
		col.Status.AppHarbor = &collabv1alpha1.AppHarborObservation{ID: id}
	}
	col.Status.AppHarbor.Role = ahRole(s)
	return nil
}

// remove deletes the recorded id. Without one the operator never created
// anyone it could name, so there is nothing to delete.
func (appHarbor) remove(c *Client, col *collabv1alpha1.Collaborator) error {
	s, t, err := ahSpec(col, "delete collaborator")
	if err != nil {
		return err
	}
	id := externalID(col)
	if id == "" {
		return nil
	}
	if err := c.ahDelete(OpDelete, t, id); err != nil {
		return fmt.Errorf("deleting AppHarbor collaborator %s on %s: %w", id, s.Application, err)
	}
	return nil
}

// list returns the application's collaborators. AppHarbor's list has no
// email and no owner flag, and nothing says which user a token is, so no
// member is Owner or Self. A Gone answer is AppHarbor's 404 for an
// application the token cannot see: ClassNotFound, as the real client
// passes it on.
func (appHarbor) list(c *Client, t provider.Target) ([]provider.Member, time.Time, error) {
	heard, list := exchange(c.p, c.call(OpList, t, "", ""), func(*Call) (Answer, []Member) {
		c.p.targetLocked(t)
		return Answer{}, c.p.snapshotLocked(t)
	})
	if heard.Kind != OK {
		perr := c.p.errorFor("list collaborators", heard)
		if heard.Kind == Gone {
			perr.Class = provider.ClassNotFound
		}
		return nil, time.Time{}, fmt.Errorf("listing AppHarbor application %s: %w", t.Application, perr)
	}
	at := c.p.now()
	out := make([]provider.Member, 0, len(list))
	for _, m := range list {
		out = append(out, provider.Member{ID: m.ID, Label: m.Name, UserID: m.UserID, Name: m.Name, Access: m.Role})
	}
	return out, at, nil
}

// removeMember deletes a listed member; a confirmed 404 is success.
func (appHarbor) removeMember(c *Client, t provider.Target, m provider.Member) error {
	err := c.ahDelete(OpRemove, t, m.ID)
	if err == nil || provider.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("removing AppHarbor collaborator %s from %s: %w", m.ID, t.Application, err)
}

// sameUser finds the member whose user the Collaborator's status last
// recorded, or nil.
func (p *Provider) sameUser(t provider.Target, col *collabv1alpha1.Collaborator) *Member {
	st := col.Status.AppHarbor
	if st == nil || st.UserID == "" {
		return nil
	}
	for _, m := range p.Members(t) {
		if m.UserID == st.UserID {
			return &m
		}
	}
	return nil
}
