// Package fake is an in-memory provider for fast reconciler tests and for
// randomized trust-model tests: a Provider holds the provider-side truth
// (who is a member of which project, application or organization), and
// the Clients its Factory builds talk to it the way the real adapters in
// internal/provider/{quantconnect,appharbor,webtranslateit} talk to the
// real APIs: the same Capabilities, the same keys, the same idempotency,
// the same mapping of answers to provider.Error classes.
//
// Every request a Client makes can be given any answer a real provider
// gives (see Answer and Kind), chosen per call by Inject or queued by
// Next, so a test can make a delete's answer get lost after it took effect
// or make a provider claim "already gone" while the person is still there,
// and then check what the reconciler believed. Nothing sleeps: time comes
// from an injectable clock.
package fake

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Organization is the Target of WebTranslateIt members. A Provider models
// one organization, the one every organization token selects, so the
// Target carries nothing.
var Organization = provider.Target{}

// DefaultOwner is the publicId of the owner every QuantConnect project
// gets when it is first used, unless WithOwner names another.
const DefaultOwner = "owner"

// Member is one member as the provider holds it. Which fields matter
// depends on the provider; the others stay zero.
type Member struct {
	// ID is the provider's key of the member within its target: the
	// QuantConnect publicId, the AppHarbor collaborator id (generated on
	// create), the WebTranslateIt email.
	ID string
	// UID is QuantConnect's numeric user id; the same publicId gets the
	// same uid in every project, as one account does.
	UID int64
	// UserID is AppHarbor's id of the user; stable per email.
	UserID string
	// Name is the display name (QuantConnect) or user name (AppHarbor).
	Name string
	// Email is the person's email. AppHarbor's answers never show it; it
	// is kept so that a second invitation of the same email is refused.
	Email string
	// Write and LiveControl are QuantConnect's rights.
	Write, LiveControl bool
	// Owner marks the QuantConnect project's owner, whom the collaboration
	// API neither changes nor removes.
	Owner bool
	// Role is AppHarbor's role: collaborator or administrator.
	Role string
}

// Option tunes a Provider at construction.
type Option func(*Provider)

// WithClock sets where Observation.ObservedAt and ListMembers' time come
// from, so that tests of sync intervals need no sleeps.
func WithClock(now func() time.Time) Option {
	return func(p *Provider) { p.now = now }
}

// WithOwner names the owner of QuantConnect projects created from now on
// (the default is DefaultOwner). A client whose credentials' userID is the
// owner sees it flagged Self, as in the real API.
func WithOwner(publicID string) Option {
	return func(p *Provider) { p.owner = publicID }
}

// Provider is the provider-side truth shared by every Client its Factory
// builds, whatever their credentials: one QuantConnect or AppHarbor
// account's projects or applications, or one WebTranslateIt organization.
// It is safe for concurrent use.
type Provider struct {
	name     string
	caps     provider.Capabilities
	credKeys []string
	adapter  adapter
	now      func() time.Time
	owner    string

	mu      sync.Mutex
	targets map[provider.Target]map[string]*Member
	uids    map[string]int64  // QuantConnect publicId -> uid
	users   map[string]string // AppHarbor lower-case email -> user id
	serial  int
	// version counts changes of the truth, so a call's record can say
	// whether the request changed anything.
	version uint64
	inject  func(Call) Answer
	queue   map[Op][]Answer
	log     []Record
}

func newProvider(name string, caps provider.Capabilities, keys []string, a adapter, opts []Option) *Provider {
	p := &Provider{
		name: name, caps: caps, credKeys: keys, adapter: a, now: time.Now, owner: DefaultOwner,
		targets: map[provider.Target]map[string]*Member{},
		uids:    map[string]int64{}, users: map[string]string{}, queue: map[Op][]Answer{},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// NewQuantConnect returns a Provider that behaves like QuantConnect's
// project collaboration API: members keyed by (projectID, publicId), an
// owner per project, write answers that carry the project's list, and
// prose refusals that the client checks against a fresh read.
func NewQuantConnect(opts ...Option) *Provider {
	return newProvider(collabv1alpha1.ProviderQuantConnect,
		provider.Capabilities{Read: true, Create: true, Update: true, ListMembers: true,
			NamesOwnAccount: true, CheckCredentials: true, ConfirmDeleteByRead: true},
		[]string{collabv1alpha1.QuantConnectUserIDKey, collabv1alpha1.QuantConnectAPITokenKey},
		quantConnect{}, opts)
}

// NewAppHarbor returns a Provider that behaves like AppHarbor's
// application collaborators API: members keyed by (application,
// collaborator id), an id told only in the create's answer, lists without
// emails, and a 404 to a delete confirmed by a fresh list.
func NewAppHarbor(opts ...Option) *Provider {
	return newProvider(collabv1alpha1.ProviderAppHarbor,
		provider.Capabilities{Read: true, Create: true, Update: true, ListMembers: true,
			ConfirmDeleteByRead: true, CreateAnswerIsTheOnlyID: true},
		[]string{collabv1alpha1.AppHarborAccessTokenKey},
		appHarbor{}, opts)
}

// NewWebTranslateIt returns a Provider that behaves like WebTranslateIt's
// organization API: a delete by email and nothing else. Its members exist
// before any Collaborator; add them with Add(Organization, ...).
func NewWebTranslateIt(opts ...Option) *Provider {
	return newProvider(collabv1alpha1.ProviderWebTranslateIt, provider.Capabilities{},
		[]string{collabv1alpha1.WebTranslateItOrganizationTokenKey},
		webTranslateIt{}, opts)
}

// Name is the provider's name (collabv1alpha1.ProviderQuantConnect, ...),
// under which a test registers Factory.
func (p *Provider) Name() string { return p.name }

// Capabilities are the real provider's, which every Client reports.
func (p *Provider) Capabilities() provider.Capabilities { return p.caps }

// Add puts a member at the provider, as a person doing it by hand would
// (or, for WebTranslateIt, as the organization already holds it), and
// returns it as stored: a QuantConnect uid, an AppHarbor collaborator id
// and user id, and default names and roles are filled in when empty.
// Adding an existing ID replaces it. A Target that does not fit the
// provider panics: it is a bug in the test, not a provider answer.
func (p *Provider) Add(t provider.Target, m Member) Member {
	p.checkTarget(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	return *p.putLocked(t, m)
}

// Remove takes a member away at the provider, as a person doing it by
// hand would; it reports whether the member was there.
func (p *Provider) Remove(t provider.Target, id string) bool {
	p.checkTarget(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.targets[t][id]; !ok {
		return false
	}
	delete(p.targets[t], id)
	p.version++
	return true
}

// Has reports whether the provider holds the member with this ID.
func (p *Provider) Has(t provider.Target, id string) bool {
	_, ok := p.Member(t, id)
	return ok
}

// Member returns a copy of the member with this ID, if the provider holds
// it.
func (p *Provider) Member(t provider.Target, id string) (Member, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m, ok := p.targets[t][id]; ok {
		return *m, true
	}
	return Member{}, false
}

// Members is a snapshot of the target's members, the owner first, then by
// ID, so that tests can compare it with cmp.Diff.
func (p *Provider) Members(t provider.Target) []Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snapshotLocked(t)
}

func (p *Provider) checkTarget(t provider.Target) {
	var ok bool
	switch p.name {
	case collabv1alpha1.ProviderQuantConnect:
		ok = t.ProjectID > 0 && t.Application == ""
	case collabv1alpha1.ProviderAppHarbor:
		ok = t.ProjectID == 0 && t.Application != ""
	default:
		ok = t == Organization
	}
	if !ok {
		panic(fmt.Sprintf("fake: %+v is not a %s target", t, p.name))
	}
}

// targetLocked returns the target's members, creating the target on
// first use: a QuantConnect project starts with its owner. Real providers
// would refuse an unknown project; tests inject that answer when they
// want it, instead of declaring every project first.
func (p *Provider) targetLocked(t provider.Target) map[string]*Member {
	if ms, ok := p.targets[t]; ok {
		return ms
	}
	ms := map[string]*Member{}
	p.targets[t] = ms
	if p.name == collabv1alpha1.ProviderQuantConnect && p.owner != "" {
		ms[p.owner] = p.fillLocked(&Member{ID: p.owner, Owner: true, Write: true, LiveControl: true})
	}
	return ms
}

// putLocked stores m (completed) in t and returns the stored copy.
func (p *Provider) putLocked(t provider.Target, m Member) *Member {
	ms := p.targetLocked(t)
	stored := p.fillLocked(&m)
	ms[stored.ID] = stored
	p.version++
	return stored
}

// fillLocked completes a member the way the provider would describe it.
func (p *Provider) fillLocked(m *Member) *Member {
	switch p.name {
	case collabv1alpha1.ProviderQuantConnect:
		if m.UID == 0 {
			m.UID = p.uidLocked(m.ID)
		}
		if m.Name == "" {
			m.Name = m.ID
		}
		if m.Email == "" {
			m.Email = strings.ToLower(m.ID) + "@example.com"
		}
	case collabv1alpha1.ProviderAppHarbor:
		if m.ID == "" {
			p.serial++
			m.ID = fmt.Sprintf("collab-%04d", p.serial)
		}
		if m.UserID == "" {
			m.UserID = p.userLocked(m.Email)
		}
		if m.Name == "" {
			m.Name, _, _ = strings.Cut(m.Email, "@")
		}
		if m.Role == "" {
			m.Role = string(collabv1alpha1.AppHarborRoleCollaborator)
		}
	default:
		if m.ID == "" {
			m.ID = m.Email
		}
		if m.Email == "" {
			m.Email = m.ID
		}
	}
	return m
}

func (p *Provider) uidLocked(publicID string) int64 {
	if uid, ok := p.uids[publicID]; ok {
		return uid
	}
	uid := int64(1000 + len(p.uids))
	p.uids[publicID] = uid
	return uid
}

func (p *Provider) userLocked(email string) string {
	key := strings.ToLower(email)
	if id, ok := p.users[key]; ok {
		return id
	}
	id := fmt.Sprintf("user-%04d", len(p.users)+1)
	p.users[key] = id
	return id
}

func (p *Provider) snapshotLocked(t provider.Target) []Member {
	out := make([]Member, 0, len(p.targets[t]))
	for _, m := range p.targets[t] {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Member) int {
		if a.Owner != b.Owner {
			if a.Owner {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}
