package fake

import (
	"context"
	"fmt"
	"strings"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Client is a provider.Client of a Provider, for one set of credentials.
// WebTranslateIt's clients are this type only: the controllers find out
// what else a client can do by type assertion (provider.Lister,
// provider.Authenticator), so each preset's Factory returns exactly the
// type the real client's interfaces match.
type Client struct {
	p *Provider
	// account is the QuantConnect userID of the credentials: the member
	// flagged Self.
	account string
	// fingerprint identifies the credentials in every Call.
	fingerprint string
}

// ListingClient is a Client that also lists and removes members
// (AppHarbor's clients, and the base of QuantConnect's).
type ListingClient struct {
	*Client
}

// CheckingClient is a ListingClient that also checks its credentials
// (QuantConnect's clients).
type CheckingClient struct {
	*ListingClient
}

var (
	_ provider.Client        = (*Client)(nil)
	_ provider.Lister        = (*ListingClient)(nil)
	_ provider.Client        = (*ListingClient)(nil)
	_ provider.Lister        = (*CheckingClient)(nil)
	_ provider.Authenticator = (*CheckingClient)(nil)
)

// adapter is one provider's behaviour: how its client turns the
// provider's answers into observations and errors.
type adapter interface {
	observe(c *Client, col *collabv1alpha1.Collaborator) (provider.Observation, error)
	create(c *Client, col *collabv1alpha1.Collaborator) (provider.Creation, error)
	update(c *Client, col *collabv1alpha1.Collaborator) error
	remove(c *Client, col *collabv1alpha1.Collaborator) error
}

// listAdapter is the member-list part of a listing provider's behaviour.
type listAdapter interface {
	list(c *Client, t provider.Target) ([]provider.Member, time.Time, error)
	removeMember(c *Client, t provider.Target, m provider.Member) error
}

// Factory returns a provider.Factory whose Clients all share this
// Provider's truth, whatever their credentials: two ProviderConfigs of one
// account see the same members. Like the real factories it checks only
// that the credentials hold the provider's keys (whitespace trimmed, as a
// Secret made with echo carries a newline); the base URL is ignored.
func (p *Provider) Factory() provider.Factory {
	return func(cfg provider.Config) (provider.Client, error) { return p.NewClient(cfg.Credentials) }
}

// NewClient builds the client Factory builds for these credentials.
func (p *Provider) NewClient(creds provider.Credentials) (provider.Client, error) {
	var missing []string
	for _, k := range p.credKeys {
		if strings.TrimSpace(string(creds[k])) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		// The real factories' words: QuantConnect has two keys.
		keys := "key"
		if len(p.credKeys) > 1 {
			keys = "key(s)"
		}
		return nil, fmt.Errorf("%s credentials Secret lacks non-empty %s %s", p.name, keys, strings.Join(missing, ", "))
	}
	c := &Client{p: p, fingerprint: creds.Fingerprint(),
		account: strings.TrimSpace(string(creds[collabv1alpha1.QuantConnectUserIDKey]))}
	switch {
	case p.caps.CheckCredentials:
		return &CheckingClient{&ListingClient{c}}, nil
	case p.caps.ListMembers:
		return &ListingClient{c}, nil
	default:
		return c, nil
	}
}

// Credentials returns well-formed credentials for this provider whose
// account (the QuantConnect userID, the token) is account, for tests that
// need a Config.
func (p *Provider) Credentials(account string) provider.Credentials {
	creds := provider.Credentials{}
	for _, k := range p.credKeys {
		creds[k] = []byte(account)
	}
	if p.name == collabv1alpha1.ProviderQuantConnect {
		creds[collabv1alpha1.QuantConnectAPITokenKey] = []byte("token-of-" + account)
	}
	return creds
}

// Provider returns the Provider the client talks to.
func (c *Client) Provider() *Provider { return c.p }

// Capabilities are the real provider's.
func (c *Client) Capabilities() provider.Capabilities { return c.p.caps }

// Observe reads the collaborator as the real client does.
func (c *Client) Observe(ctx context.Context, col *collabv1alpha1.Collaborator) (provider.Observation, error) {
	if err := c.live(ctx, "read collaborator"); err != nil {
		return provider.Observation{}, err
	}
	return c.p.adapter.observe(c, col)
}

// Create adds the collaborator as the real client does.
func (c *Client) Create(ctx context.Context, col *collabv1alpha1.Collaborator) (provider.Creation, error) {
	if err := c.live(ctx, "create collaborator"); err != nil {
		return provider.Creation{}, err
	}
	return c.p.adapter.create(c, col)
}

// Update changes the collaborator's access as the real client does.
func (c *Client) Update(ctx context.Context, col *collabv1alpha1.Collaborator) error {
	if err := c.live(ctx, "update collaborator"); err != nil {
		return err
	}
	return c.p.adapter.update(c, col)
}

// Delete removes the collaborator. Like the real adapters, it returns nil
// for the provider's documented success and for a documented "already
// gone" (confirmed by a fresh read where the provider has one); tests tell
// the two apart from Calls. Any other answer is an error.
func (c *Client) Delete(ctx context.Context, col *collabv1alpha1.Collaborator) error {
	if err := c.live(ctx, "delete collaborator"); err != nil {
		return err
	}
	return c.p.adapter.remove(c, col)
}

// ListMembers returns the target's members, the owner included, and when
// the provider gave the list (the Provider's clock).
func (c *ListingClient) ListMembers(ctx context.Context, t provider.Target) ([]provider.Member, time.Time, error) {
	if err := c.live(ctx, "list collaborators"); err != nil {
		return nil, time.Time{}, err
	}
	return c.p.adapter.(listAdapter).list(c.Client, t)
}

// RemoveMember removes a listed member; one already gone (confirmed by a
// fresh read) is success, as the Lister contract and the AccessPolicy
// reconciler want. It refuses the owner and the credentials' own account
// without calling the provider.
func (c *ListingClient) RemoveMember(ctx context.Context, t provider.Target, m provider.Member) error {
	if m.Owner || m.Self || m.ID == "" {
		return &provider.Error{Provider: c.p.name, Op: "delete collaborator", Class: provider.ClassRejected,
			Message: fmt.Sprintf("refusing to remove %q: it is the owner or the credentials' own account", m.ID)}
	}
	if err := c.live(ctx, "delete collaborator"); err != nil {
		return err
	}
	return c.p.adapter.(listAdapter).removeMember(c.Client, t, m)
}

// Authenticate asks the provider to accept the credentials; it changes
// nothing.
func (c *CheckingClient) Authenticate(ctx context.Context) error {
	const op = "authenticate"
	if err := c.live(ctx, op); err != nil {
		return err
	}
	heard, _ := exchange(c.p, c.call(OpAuthenticate, provider.Target{}, "", ""),
		func(*Call) (Answer, struct{}) { return Answer{}, struct{}{} })
	if heard.Kind == OK {
		return nil
	}
	return fmt.Errorf("checking %s credentials: %w", c.p.name, c.p.errorFor(op, heard))
}

// live fails a call whose context is done before anything is sent, as an
// HTTP client abandons the request: ClassUnavailable, nothing logged.
func (c *Client) live(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return &provider.Error{Provider: c.p.name, Op: op, Class: provider.ClassUnavailable,
			Message: "request abandoned: " + err.Error()}
	}
	return nil
}

func (c *Client) call(op Op, t provider.Target, member, email string) Call {
	return Call{Op: op, Target: t, Member: member, Email: email, Credentials: c.fingerprint}
}

// externalID is the recorded id: the annotation first, then the status,
// as the real AppHarbor client reads it.
func externalID(col *collabv1alpha1.Collaborator) string {
	if id := col.Annotations[collabv1alpha1.ExternalIDAnnotation]; id != "" {
		return id
	}
	if col.Status.AppHarbor != nil {
		return col.Status.AppHarbor.ID
	}
	return ""
}

// withClass is a copy of e with another class, for answers a client
// reinterprets after a fresh read.
func withClass(e *provider.Error, class provider.Class, note string) *provider.Error {
	copied := *e
	copied.Class = class
	if note != "" {
		copied.Message += " (" + note + ")"
	}
	return &copied
}

func rejectedSpec(name, op, block string) error {
	return &provider.Error{Provider: name, Op: op, Class: provider.ClassRejected,
		Message: "the Collaborator has no " + block + " block"}
}
