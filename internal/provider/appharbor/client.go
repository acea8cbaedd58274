package appharbor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/readcache"
)

// NewFactory returns the provider.Factory for AppHarbor. Its Clients share
// one list cache, so build it once per manager.
func NewFactory(opts ...httpapi.Option) provider.Factory {
	s := httpapi.NewSettings(opts...)
	cache := readcache.New[[]Collaborator](s.CacheTTL, s.Now)
	if s.Observer != nil {
		cache.OnHit = func() { s.Observer.SnapshotHit(providerName) }
	}
	return func(cfg provider.Config) (provider.Client, error) {
		token := strings.TrimSpace(string(cfg.Credentials[collabv1alpha1.AppHarborAccessTokenKey]))
		if token == "" {
			return nil, fmt.Errorf("AppHarbor credentials Secret lacks non-empty key %s", collabv1alpha1.AppHarborAccessTokenKey)
		}
		api, err := newAPIClient(cfg.BaseURL, token, s.ForCredentials(cfg))
		if err != nil {
			return nil, err
		}
		return &Client{api: api, cache: cache, credentialsID: cfg.Credentials.Fingerprint(), maxAge: cfg.SyncInterval}, nil
	}
}

// Client adapts APIClient to provider.Client.
type Client struct {
	api   *APIClient
	cache *readcache.Cache[[]Collaborator]
	// credentialsID is the credentials' fingerprint (see
	// provider.Credentials.Fingerprint): cache entries of different tokens,
	// which may see different applications, never mix.
	credentialsID string
	// maxAge is how old an application's snapshot may be (the sync
	// interval).
	maxAge time.Duration
}

var (
	_ provider.Client = (*Client)(nil)
	_ provider.Lister = (*Client)(nil)
)

// Capabilities: AppHarbor reads, creates, updates and lists. A 404 to a
// delete is confirmed by a fresh list. Its list does not say which member
// the token belongs to, and a new collaborator's id is told only in the
// create answer's Location header (the list has no emails to find the
// person by).
func (c *Client) Capabilities() provider.Capabilities {
	return provider.Capabilities{Read: true, Create: true, Update: true, ListMembers: true,
		ConfirmDeleteByRead: true, CreateAnswerIsTheOnlyID: true}
}

func (c *Client) key(slug string) string {
	return c.api.BaseURL() + "\x00" + c.credentialsID + "\x00" + slug
}

func spec(col *collabv1alpha1.Collaborator, op string) (*collabv1alpha1.AppHarborCollaborator, error) {
	if col == nil || col.Spec.AppHarbor == nil {
		return nil, &provider.Error{Provider: providerName, Op: op, Class: provider.ClassRejected,
			Message: "the Collaborator has no appHarbor block"}
	}
	return col.Spec.AppHarbor, nil
}

// externalID is the recorded id: the annotation first, because it is
// written before anything else and survives a backup without status.
func externalID(col *collabv1alpha1.Collaborator) string {
	if id := col.Annotations[collabv1alpha1.ExternalIDAnnotation]; id != "" {
		return id
	}
	if col.Status.AppHarbor != nil {
		return col.Status.AppHarbor.ID
	}
	return ""
}

func wantRole(s *collabv1alpha1.AppHarborCollaborator) string {
	if s.Role == "" {
		return string(collabv1alpha1.AppHarborRoleCollaborator)
	}
	return string(s.Role)
}

// Observe finds the collaborator by its recorded id, in the application's
// shared list when possible and by a direct read otherwise.
//
// Without a recorded id it reports Exists=false: AppHarbor's list has no
// email, so the person cannot be recognised in it. The reconciler records
// the id from Create before anything else, so an id is missing only before
// the first create; adopting an existing collaborator needs the id written
// into the annotation by hand.
func (c *Client) Observe(ctx context.Context, col *collabv1alpha1.Collaborator) (provider.Observation, error) {
	s, err := spec(col, "read collaborator")
	if err != nil {
		return provider.Observation{}, err
	}
	id := externalID(col)
	if id == "" {
		return provider.Observation{}, nil
	}
	var found *Collaborator
	list, at, listErr := c.cache.Read(ctx, c.key(s.Application), c.maxAge, provider.FreshRead(ctx), c.fetch(s.Application))
	switch provider.ClassOf(listErr) {
	case provider.ClassUnauthorized, provider.ClassUnavailable, provider.ClassRateLimited:
		return provider.Observation{}, fmt.Errorf("observing AppHarbor collaborator %s of %s: %w", id, s.Application, listErr)
	}
	if listErr == nil {
		for i := range list {
			if list[i].ID == id {
				found = &list[i]
				break
			}
		}
	}
	if found == nil {
		// Not in the (possibly cached) list: ask for it directly, so that a
		// list that lags or is paged never makes us create a duplicate.
		got, err := c.api.GetCollaborator(ctx, s.Application, id)
		at = time.Now()
		if provider.IsNotFound(err) {
			// The person may be back under a new collaborator id (invited
			// again by hand): the list names users, so one recorded
			// earlier is recognised there.
			if again := sameUser(list, col); listErr == nil && again != nil {
				fillStatus(col, again.ID, again)
				return provider.Observation{Exists: true, UpToDate: strings.EqualFold(again.Role, wantRole(s)),
					Difference: roleDifference(again.Role, wantRole(s)), ExternalID: again.ID, ObservedAt: at}, nil
			}
			return provider.Observation{ExternalID: id, ObservedAt: at}, nil
		}
		if err != nil {
			return provider.Observation{}, fmt.Errorf("observing AppHarbor collaborator %s of %s: %w", id, s.Application, err)
		}
		found = got
	}
	fillStatus(col, id, found)
	return provider.Observation{
		Exists:     true,
		UpToDate:   strings.EqualFold(found.Role, wantRole(s)),
		Difference: roleDifference(found.Role, wantRole(s)),
		ExternalID: id,
		ObservedAt: at,
	}, nil
}

func (c *Client) fetch(slug string) func(context.Context) ([]Collaborator, error) {
	return func(ctx context.Context) ([]Collaborator, error) { return c.api.ListCollaborators(ctx, slug) }
}

// withoutID is list without the collaborator id, copied: snapshots are
// shared and never changed in place.
func withoutID(list []Collaborator, id string) []Collaborator {
	out := make([]Collaborator, 0, len(list))
	for _, x := range list {
		if x.ID != id {
			out = append(out, x)
		}
	}
	return out
}

// Create invites the person. A refusal, including AppHarbor's answer for an
// email that is already a collaborator, is returned with its message: the
// reconciler's annotation-first design means a second create only happens
// if the id was lost, and then a person must adopt by hand.
func (c *Client) Create(ctx context.Context, col *collabv1alpha1.Collaborator) (provider.Creation, error) {
	s, err := spec(col, "create collaborator")
	if err != nil {
		return provider.Creation{}, err
	}
	id, loc, err := c.api.CreateCollaborator(ctx, s.Application, s.Email, wantRole(s))
	if err != nil {
		c.cache.Invalidate(c.key(s.Application))
		if provider.IsNotFound(err) {
			// A 404 on create is the application, not the collaborator:
			// only a person can fix the slug or the token's access.
			err = reclass(err, provider.ClassRejected)
		}
		return provider.Creation{}, fmt.Errorf("creating AppHarbor collaborator %s on %s: %w", s.Email, s.Application, err)
	}
	// The answer says exactly what was added: the application's snapshot
	// gains it, so reading the new collaborator back costs no request.
	// Its user name shows at the next refresh (AppHarbor's create answer
	// has none).
	added := Collaborator{ID: id, Role: wantRole(s), URL: loc}
	c.cache.Update(c.key(s.Application), func(list []Collaborator) []Collaborator {
		return append(withoutID(list, id), added)
	})
	col.Status.AppHarbor = &collabv1alpha1.AppHarborObservation{ID: id, Role: wantRole(s), URL: loc}
	// AppHarbor's 201 answers the create of the role asked for; the answer
	// names no role to compare, and a later read shows any other.
	return provider.Creation{ExternalID: id, UpToDate: true}, nil
}

// Update sets the role; a collaborator that is gone is ClassNotFound.
func (c *Client) Update(ctx context.Context, col *collabv1alpha1.Collaborator) error {
	s, err := spec(col, "update collaborator")
	if err != nil {
		return err
	}
	id := externalID(col)
	if id == "" {
		return &provider.Error{Provider: providerName, Op: "update collaborator", Class: provider.ClassNotFound,
			Message: "no collaborator id recorded; it must be created first"}
	}
	err = c.api.UpdateCollaborator(ctx, s.Application, id, wantRole(s))
	// AppHarbor's 200 carries no body: the snapshot is dropped so that the
	// caller's read-back sees what AppHarbor now holds, not what we asked.
	c.cache.Invalidate(c.key(s.Application))
	if err != nil {
		return fmt.Errorf("updating AppHarbor collaborator %s on %s: %w", id, s.Application, err)
	}
	if col.Status.AppHarbor == nil {
		col.Status.AppHarbor = &collabv1alpha1.AppHarborObservation{ID: id}
	}
	col.Status.AppHarbor.Role = wantRole(s)
	return nil
}

// Delete removes the collaborator; one that is gone is success. Without a
// recorded id nothing was ever created by the operator, so there is nothing
// it could name to delete.
//
// AppHarbor answers 404 both for a collaborator that is gone and for a
// token that lost access to the application, so a 404 counts as "already
// gone" only when a fresh read of the application's list succeeds and does
// not hold the id. Anything else fails closed: a revocation is never
// dropped on an answer that cannot tell.
func (c *Client) Delete(ctx context.Context, col *collabv1alpha1.Collaborator) error {
	s, err := spec(col, "delete collaborator")
	if err != nil {
		return err
	}
	id := externalID(col)
	if id == "" {
		return nil
	}
	key := c.key(s.Application)
	err = c.api.DeleteCollaborator(ctx, s.Application, id)
	if err == nil {
		c.cache.Update(key, func(list []Collaborator) []Collaborator { return withoutID(list, id) })
		return nil
	}
	c.cache.Invalidate(key)
	if !provider.IsNotFound(err) {
		return fmt.Errorf("deleting AppHarbor collaborator %s on %s: %w", id, s.Application, err)
	}
	list, _, listErr := c.cache.Refresh(ctx, key, c.maxAge, c.fetch(s.Application))
	if listErr != nil {
		if provider.IsNotFound(listErr) {
			// The application itself is invisible to this token: a person
			// must check whether the token lost access or the application
			// is gone (then Orphan is right).
			listErr = reclass(listErr, provider.ClassRejected)
		}
		return fmt.Errorf("deleting AppHarbor collaborator %s on %s: the delete answered 404 and listing the application "+
			"to confirm the collaborator is gone failed: %w", id, s.Application, listErr)
	}
	for i := range list {
		if list[i].ID == id {
			return fmt.Errorf("deleting AppHarbor collaborator %s on %s: the delete answered 404 but the application still lists it: %w",
				id, s.Application, reclass(err, provider.ClassUnavailable))
		}
	}
	return nil
}

func reclass(err error, class provider.Class) error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		copied := *pe
		copied.Class = class
		return &copied
	}
	return err
}

func fillStatus(col *collabv1alpha1.Collaborator, id string, got *Collaborator) {
	col.Status.AppHarbor = &collabv1alpha1.AppHarborObservation{
		ID: id, UserID: got.User.ID, UserName: got.User.Name, Role: got.Role, URL: got.URL,
	}
}

// sameUser finds, in an application's list, the AppHarbor user the
// Collaborator's status last recorded, or nil.
func sameUser(list []Collaborator, col *collabv1alpha1.Collaborator) *Collaborator {
	st := col.Status.AppHarbor
	if st == nil || st.UserID == "" {
		return nil
	}
	for i := range list {
		if list[i].User.ID == st.UserID {
			return &list[i]
		}
	}
	return nil
}

// roleDifference names a role AppHarbor holds otherwise than the spec.
func roleDifference(got, want string) string {
	if strings.EqualFold(got, want) {
		return ""
	}
	return fmt.Sprintf("role is %s, the spec wants %s", got, want)
}
