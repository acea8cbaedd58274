package quantconnect

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/readcache"
)

// NewFactory returns the provider.Factory for QuantConnect. All Clients it
// builds share one read cache keyed by (base URL, credential fingerprint,
// project), so the factory should be built once per manager. The key holds
// the fingerprint of the whole credentials, not the user id alone: two
// namespaces may name the same user with different tokens, and the one
// with a wrong token must never see the other's list.
func NewFactory(opts ...httpapi.Option) provider.Factory {
	s := httpapi.NewSettings(opts...)
	cache := readcache.New[[]Collaborator](s.CacheTTL, s.Now)
	if s.Observer != nil {
		cache.OnHit = func() { s.Observer.SnapshotHit(providerName) }
	}
	return func(cfg provider.Config) (provider.Client, error) {
		// Whitespace is trimmed because a Secret made with `echo` carries a
		// newline that would make every signature wrong.
		userID := strings.TrimSpace(string(cfg.Credentials[collabv1alpha1.QuantConnectUserIDKey]))
		token := strings.TrimSpace(string(cfg.Credentials[collabv1alpha1.QuantConnectAPITokenKey]))
		var missing []string
		if userID == "" {
			missing = append(missing, collabv1alpha1.QuantConnectUserIDKey)
		}
		if token == "" {
			missing = append(missing, collabv1alpha1.QuantConnectAPITokenKey)
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("QuantConnect credentials Secret lacks non-empty key(s) %s", strings.Join(missing, ", "))
		}
		api, err := newAPIClient(cfg.BaseURL, userID, token, s.ForCredentials(cfg))
		if err != nil {
			return nil, err
		}
		return &Client{api: api, cache: cache, credentialsID: cfg.Credentials.Fingerprint(), maxAge: cfg.SyncInterval}, nil
	}
}

// Client adapts APIClient to provider.Client. A QuantConnect collaborator
// is identified by (projectID, userID); the uid it reports is recorded as
// the external id but never needed to find it again.
type Client struct {
	api   *APIClient
	cache *readcache.Cache[[]Collaborator]
	// credentialsID is the credentials' fingerprint (see
	// provider.Credentials.Fingerprint), part of every cache key.
	credentialsID string
	// maxAge is how old a project's snapshot may be (the sync interval).
	maxAge time.Duration
}

var (
	_ provider.Client        = (*Client)(nil)
	_ provider.Authenticator = (*Client)(nil)
)

// Authenticate checks the credentials with POST /authenticate.
func (c *Client) Authenticate(ctx context.Context) error {
	if err := c.api.Authenticate(ctx); err != nil {
		return fmt.Errorf("checking QuantConnect credentials: %w", err)
	}
	return nil
}

func (c *Client) key(projectID int64) string {
	return c.api.BaseURL() + "\x00" + c.credentialsID + "\x00" + strconv.FormatInt(projectID, 10)
}

func (c *Client) fetch(projectID int64) func(context.Context) ([]Collaborator, error) {
	return func(ctx context.Context) ([]Collaborator, error) {
		res, err := c.api.ReadCollaborators(ctx, projectID)
		if err != nil {
			return nil, err
		}
		return res.Collaborators, nil
	}
}

func spec(col *collabv1alpha1.Collaborator, op string) (*collabv1alpha1.QuantConnectCollaborator, error) {
	if col == nil || col.Spec.QuantConnect == nil {
		return nil, &provider.Error{Provider: providerName, Op: op, Class: provider.ClassRejected,
			Message: "the Collaborator has no quantConnect block"}
	}
	return col.Spec.QuantConnect, nil
}

var _ provider.Client = (*Client)(nil)

// Capabilities: QuantConnect reads, creates, updates, lists, checks
// credentials (POST /authenticate) and names the credentials' own account
// in its list. Its "not a collaborator" refusal of a delete is confirmed by
// a fresh read.
func (c *Client) Capabilities() provider.Capabilities {
	return provider.Capabilities{Read: true, Create: true, Update: true, ListMembers: true,
		NamesOwnAccount: true, CheckCredentials: true, ConfirmDeleteByRead: true}
}

// Observe reads the project's list (shared with other Observes of the same
// project) and finds the user in it.
//
// The project owner is listed too, with owner:true. The collaboration API
// cannot change or remove an owner, so a Collaborator naming the owner is
// reported as existing and up to date (status.quantConnect.owner is true)
// and Delete leaves the owner alone; the operator never fights the owner's
// own access.
func (c *Client) Observe(ctx context.Context, col *collabv1alpha1.Collaborator) (provider.Observation, error) {
	s, err := spec(col, "read collaborators")
	if err != nil {
		return provider.Observation{}, err
	}
	list, at, err := c.cache.Read(ctx, c.key(s.ProjectID), c.maxAge, provider.FreshRead(ctx), c.fetch(s.ProjectID))
	if err != nil {
		return provider.Observation{}, fmt.Errorf("observing QuantConnect collaborator %s on project %d: %w", s.UserID, s.ProjectID, err)
	}
	found := find(list, s.UserID)
	if found == nil {
		return provider.Observation{ObservedAt: at}, nil
	}
	fillStatus(col, found)
	return provider.Observation{
		Exists:     true,
		UpToDate:   found.Owner || upToDate(found, s),
		Difference: difference(found, s),
		ExternalID: strconv.FormatInt(found.UID, 10),
		ObservedAt: at,
	}, nil
}

// Create adds the collaborator. Any refusal is checked against a fresh read:
// QuantConnect refuses an existing collaborator in prose, so presence in
// the list, not the wording, decides that the create already happened.
func (c *Client) Create(ctx context.Context, col *collabv1alpha1.Collaborator) (provider.Creation, error) {
	s, err := spec(col, "create collaborator")
	if err != nil {
		return provider.Creation{}, err
	}
	key := c.key(s.ProjectID)
	list, err := write(c.cache, key, func() ([]Collaborator, error) {
		return c.api.CreateCollaborator(ctx, CreateRequest{
			ProjectID: s.ProjectID, CollaboratorUserID: s.UserID, LiveControl: s.LiveControl, Write: s.Write,
		})
	})
	if err != nil {
		if !refused(err) {
			return provider.Creation{}, fmt.Errorf("creating QuantConnect collaborator %s on project %d: %w", s.UserID, s.ProjectID, err)
		}
		fresh, readErr := c.refresh(ctx, key, s.ProjectID)
		if readErr != nil {
			return provider.Creation{}, fmt.Errorf("creating QuantConnect collaborator %s on project %d: QuantConnect refused (%s) "+
				"and the read that would show whether they are there failed: %w", s.UserID, s.ProjectID, sentence(err), readErr)
		}
		if find(fresh, s.UserID) == nil {
			return provider.Creation{}, fmt.Errorf("creating QuantConnect collaborator %s on project %d: %w", s.UserID, s.ProjectID, err)
		}
		list = fresh
	}
	found := find(list, s.UserID)
	if found == nil {
		// The answer lacked the new entry; a fresh read settles it.
		fresh, readErr := c.refresh(ctx, key, s.ProjectID)
		if readErr != nil {
			return provider.Creation{}, fmt.Errorf("reading QuantConnect project %d after creating %s: %w", s.ProjectID, s.UserID, readErr)
		}
		if found = find(fresh, s.UserID); found == nil {
			return provider.Creation{}, &provider.Error{Provider: providerName, Op: "create collaborator", Class: provider.ClassUnavailable,
				Message: fmt.Sprintf("QuantConnect accepted %s on project %d but does not list it", s.UserID, s.ProjectID)}
		}
	}
	fillStatus(col, found)
	return provider.Creation{ExternalID: strconv.FormatInt(found.UID, 10), UpToDate: found.Owner || upToDate(found, s)}, nil
}

// Update sets permission and live control. If QuantConnect refuses and a
// fresh read shows the collaborator gone, the error is ClassNotFound so the
// reconciler creates it again.
func (c *Client) Update(ctx context.Context, col *collabv1alpha1.Collaborator) error {
	s, err := spec(col, "update collaborator")
	if err != nil {
		return err
	}
	key := c.key(s.ProjectID)
	list, err := write(c.cache, key, func() ([]Collaborator, error) {
		return c.api.UpdateCollaborator(ctx, UpdateRequest{
			ProjectID: s.ProjectID, CollaboratorUserID: s.UserID, LiveControl: s.LiveControl, Write: s.Write,
		})
	})
	if err != nil {
		wrapped := fmt.Errorf("updating QuantConnect collaborator %s on project %d: %w", s.UserID, s.ProjectID, err)
		if !refused(err) {
			return wrapped
		}
		fresh, readErr := c.refresh(ctx, key, s.ProjectID)
		if readErr == nil && find(fresh, s.UserID) == nil {
			var pe *provider.Error
			if errors.As(err, &pe) {
				nf := *pe
				nf.Class = provider.ClassNotFound
				return fmt.Errorf("updating QuantConnect collaborator %s on project %d: not a collaborator any more: %w", s.UserID, s.ProjectID, &nf)
			}
		}
		return wrapped
	}
	if found := find(list, s.UserID); found != nil {
		fillStatus(col, found)
	}
	return nil
}

// Delete removes the collaborator; a refusal followed by a read that no
// longer lists the user is success. The owner is never removed (see
// Observe).
func (c *Client) Delete(ctx context.Context, col *collabv1alpha1.Collaborator) error {
	s, err := spec(col, "delete collaborator")
	if err != nil {
		return err
	}
	key := c.key(s.ProjectID)
	if st := col.Status.QuantConnect; st != nil && st.Owner && st.PublicID == s.UserID {
		return nil
	}
	_, err = write(c.cache, key, func() ([]Collaborator, error) {
		return c.api.DeleteCollaborator(ctx, s.ProjectID, s.UserID)
	})
	if err != nil {
		if !refused(err) {
			return fmt.Errorf("deleting QuantConnect collaborator %s on project %d: %w", s.UserID, s.ProjectID, err)
		}
		fresh, readErr := c.refresh(ctx, key, s.ProjectID)
		if readErr != nil {
			// The refusal may mean "already gone", which only the read can
			// confirm: the outcome waits on the read, and so does its class
			// (a rate limit or an outage is retried, not a person's job).
			return fmt.Errorf("deleting QuantConnect collaborator %s on project %d: QuantConnect refused (%s) and the read "+
				"that would confirm it failed: %w", s.UserID, s.ProjectID, sentence(err), readErr)
		}
		if found := find(fresh, s.UserID); found == nil || found.Owner {
			return nil
		}
		return fmt.Errorf("deleting QuantConnect collaborator %s on project %d: %w", s.UserID, s.ProjectID, err)
	}
	return nil
}

// write runs one write of a project at a time and stores the list its
// answer carries: QuantConnect answers every write with the project's whole
// list, so the snapshot stays current without a read.
func write(cache *readcache.Cache[[]Collaborator], key string, call func() ([]Collaborator, error)) ([]Collaborator, error) {
	var list []Collaborator
	err := cache.Write(key, func() error {
		var err error
		if list, err = call(); err != nil {
			return err
		}
		cache.Set(key, list)
		return nil
	})
	return list, err
}

// refresh reads the project's list afresh (still shared with concurrent
// refreshes).
func (c *Client) refresh(ctx context.Context, key string, projectID int64) ([]Collaborator, error) {
	list, _, err := c.cache.Refresh(ctx, key, c.maxAge, c.fetch(projectID))
	return list, err
}

// refused reports an answer in which QuantConnect said no (success=false,
// or a 4xx other than auth, rate limiting and 404), after which the list is
// worth reading; transport failures are not.
func refused(err error) bool {
	switch provider.ClassOf(err) {
	case provider.ClassRejected:
		return true
	default:
		return false
	}
}

// find picks the user's entry: an exact, non-owner match first, so that an
// owner entry is never mistaken for a collaborator; then a case-insensitive
// match, because QuantConnect's profile URLs are case-insensitive and a
// spec may differ in case from the stored id.
func find(list []Collaborator, userID string) *Collaborator {
	matchers := []func(string) bool{
		func(id string) bool { return id == userID },
		func(id string) bool { return strings.EqualFold(id, userID) },
	}
	for _, match := range matchers {
		var owner *Collaborator
		for i := range list {
			if !match(list[i].PublicID) {
				continue
			}
			if !list[i].Owner {
				return &list[i]
			}
			owner = &list[i]
		}
		if owner != nil {
			return owner
		}
	}
	return nil
}

func upToDate(got *Collaborator, s *collabv1alpha1.QuantConnectCollaborator) bool {
	return strings.EqualFold(got.Permission, "write") == s.Write && got.LiveControl == s.LiveControl
}

// difference names the fields QuantConnect holds otherwise than the spec.
func difference(got *Collaborator, s *collabv1alpha1.QuantConnectCollaborator) string {
	if got.Owner {
		return ""
	}
	var diffs []string
	if want := map[bool]string{true: "write", false: "read"}[s.Write]; !strings.EqualFold(got.Permission, want) {
		diffs = append(diffs, fmt.Sprintf("permission is %s, the spec wants %s", got.Permission, want))
	}
	if got.LiveControl != s.LiveControl {
		diffs = append(diffs, fmt.Sprintf("liveControl is %t, the spec wants %t", got.LiveControl, s.LiveControl))
	}
	return strings.Join(diffs, "; ")
}

func fillStatus(col *collabv1alpha1.Collaborator, got *Collaborator) {
	col.Status.QuantConnect = &collabv1alpha1.QuantConnectObservation{
		UID: got.UID, PublicID: got.PublicID, Name: got.Name, Email: got.Email,
		Permission: got.Permission, LiveControl: got.LiveControl, Owner: got.Owner,
	}
}

// sentence is err's text without a closing period, to quote inside another
// message.
func sentence(err error) string {
	return strings.TrimRight(err.Error(), ".")
}
