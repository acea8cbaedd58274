package controllertest

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// Fixture names and targets.
const (
	// Namespace holds every fixture object.
	Namespace = "team"
	// Project is the QuantConnect project of the fixture Collaborators
	// and policies.
	Project int64 = 23456789
	// Application is the AppHarbor application of the fixture
	// Collaborators and policies.
	Application = "my-app"
	// QuantConnectAccount is the userID in the fixture QuantConnect
	// Secret: the credentials' own account, which the member list flags
	// Self.
	QuantConnectAccount = "api-user"
	// DocumentedQuantConnectURL, DocumentedAppHarborURL and
	// DocumentedWebTranslateItURL are the fixture ProviderConfigs' base
	// URLs: the providers' documented ones, which
	// provider.DefaultAllowedURLs allows.
	DocumentedQuantConnectURL   = "https://www.quantconnect.com/api/v2"
	DocumentedAppHarborURL      = "https://appharbor.com"
	DocumentedWebTranslateItURL = "https://webtranslateit.com"
)

// ProviderNames are the three providers, in a fixed order for table tests.
var ProviderNames = []string{
	collabv1alpha1.ProviderQuantConnect, collabv1alpha1.ProviderAppHarbor, collabv1alpha1.ProviderWebTranslateIt,
}

// ConfigName is the name of a provider's fixture ProviderConfig: qc, ah
// or wti.
func ConfigName(providerName string) string {
	switch providerName {
	case collabv1alpha1.ProviderQuantConnect:
		return "qc"
	case collabv1alpha1.ProviderAppHarbor:
		return "ah"
	case collabv1alpha1.ProviderWebTranslateIt:
		return "wti"
	}
	panic(fmt.Sprintf("controllertest: unknown provider %q", providerName))
}

// SecretName is the name of a provider's fixture Secret: its
// ProviderConfig's name with -creds.
func SecretName(providerName string) string { return ConfigName(providerName) + "-creds" }

// Target is the provider.Target the fixture Collaborators of a provider
// name: Project, Application, or fake.Organization.
func Target(providerName string) provider.Target {
	switch providerName {
	case collabv1alpha1.ProviderQuantConnect:
		return provider.Target{ProjectID: Project}
	case collabv1alpha1.ProviderAppHarbor:
		return provider.Target{Application: Application}
	}
	return fake.Organization
}

// ProviderConfig returns the fixture ProviderConfig of a provider
// (ConfigName(providerName), in Namespace), pointing at the documented
// base URL with the fixture Secret.
func ProviderConfig(providerName string) *collabv1alpha1.ProviderConfig {
	pc := &collabv1alpha1.ProviderConfig{}
	pc.Name, pc.Namespace = ConfigName(providerName), Namespace
	ref := collabv1alpha1.SecretReference{Name: SecretName(providerName)}
	switch providerName {
	case collabv1alpha1.ProviderQuantConnect:
		pc.Spec.QuantConnect = &collabv1alpha1.QuantConnectConfig{BaseURL: DocumentedQuantConnectURL, CredentialsSecretRef: ref}
	case collabv1alpha1.ProviderAppHarbor:
		pc.Spec.AppHarbor = &collabv1alpha1.AppHarborConfig{BaseURL: DocumentedAppHarborURL, CredentialsSecretRef: ref}
	case collabv1alpha1.ProviderWebTranslateIt:
		pc.Spec.WebTranslateIt = &collabv1alpha1.WebTranslateItConfig{BaseURL: DocumentedWebTranslateItURL, CredentialsSecretRef: ref}
	}
	return pc
}

// QuantConnect returns a Collaborator named name giving userID access to
// Project through the fixture ProviderConfig.
func QuantConnect(name, userID string, write, liveControl bool) *collabv1alpha1.Collaborator {
	c := collaborator(name, collabv1alpha1.ProviderQuantConnect)
	c.Spec.QuantConnect = &collabv1alpha1.QuantConnectCollaborator{ProjectID: Project, UserID: userID, Write: write, LiveControl: liveControl}
	return c
}

// AppHarbor returns a Collaborator named name giving email role on
// Application through the fixture ProviderConfig.
func AppHarbor(name, email string, role collabv1alpha1.AppHarborRole) *collabv1alpha1.Collaborator {
	c := collaborator(name, collabv1alpha1.ProviderAppHarbor)
	c.Spec.AppHarbor = &collabv1alpha1.AppHarborCollaborator{Application: Application, Email: email, Role: role}
	return c
}

// WebTranslateIt returns a Collaborator named name for email's
// organization membership through the fixture ProviderConfig.
func WebTranslateIt(name, email string) *collabv1alpha1.Collaborator {
	c := collaborator(name, collabv1alpha1.ProviderWebTranslateIt)
	c.Spec.WebTranslateIt = &collabv1alpha1.WebTranslateItCollaborator{Email: email}
	return c
}

// Collaborator returns a fixture Collaborator of any provider, for tables
// that run over ProviderNames: person is a QuantConnect userID (write
// access, no live control) or, with @example.com appended, an AppHarbor
// (collaborator role) or WebTranslateIt email.
func Collaborator(providerName, name, person string) *collabv1alpha1.Collaborator {
	switch providerName {
	case collabv1alpha1.ProviderQuantConnect:
		return QuantConnect(name, person, true, false)
	case collabv1alpha1.ProviderAppHarbor:
		return AppHarbor(name, person+"@example.com", collabv1alpha1.AppHarborRoleCollaborator)
	}
	return WebTranslateIt(name, person+"@example.com")
}

func collaborator(name, providerName string) *collabv1alpha1.Collaborator {
	c := &collabv1alpha1.Collaborator{}
	c.Name, c.Namespace = name, Namespace
	c.Spec.ProviderConfigRef.Name = ConfigName(providerName)
	c.Spec.DeletionPolicy = collabv1alpha1.DeletionDelete
	c.Spec.ManagementPolicy = collabv1alpha1.ManagementFull
	return c
}

// QuantConnectPolicy returns an AccessPolicy named name over Project in
// mode, through the fixture ProviderConfig.
func QuantConnectPolicy(name string, mode collabv1alpha1.AccessPolicyMode, exempt ...string) *collabv1alpha1.AccessPolicy {
	p := policy(name, collabv1alpha1.ProviderQuantConnect, mode, exempt)
	p.Spec.QuantConnect = &collabv1alpha1.QuantConnectPolicyTarget{ProjectID: Project}
	return p
}

// AppHarborPolicy returns an AccessPolicy named name over Application in
// mode, through the fixture ProviderConfig.
func AppHarborPolicy(name string, mode collabv1alpha1.AccessPolicyMode, exempt ...string) *collabv1alpha1.AccessPolicy {
	p := policy(name, collabv1alpha1.ProviderAppHarbor, mode, exempt)
	p.Spec.AppHarbor = &collabv1alpha1.AppHarborPolicyTarget{Application: Application}
	return p
}

func policy(name, providerName string, mode collabv1alpha1.AccessPolicyMode, exempt []string) *collabv1alpha1.AccessPolicy {
	p := &collabv1alpha1.AccessPolicy{}
	p.Name, p.Namespace = name, Namespace
	p.Spec.ProviderConfigRef.Name = ConfigName(providerName)
	p.Spec.Mode = mode
	p.Spec.Exempt = exempt
	return p
}

// Seed puts the person c names at its provider, as someone doing it by
// hand would (or, for WebTranslateIt, as the organization already holds
// them), with the access c's spec asks for, and returns the member as
// stored (an AppHarbor member's ID is its collaborator id).
func (e *Env) Seed(c *collabv1alpha1.Collaborator) fake.Member {
	e.T.Helper()
	s := &c.Spec
	switch {
	case s.QuantConnect != nil:
		return e.QuantConnect.Add(provider.Target{ProjectID: s.QuantConnect.ProjectID},
			fake.Member{ID: s.QuantConnect.UserID, Write: s.QuantConnect.Write, LiveControl: s.QuantConnect.LiveControl})
	case s.AppHarbor != nil:
		role := string(s.AppHarbor.Role)
		if role == "" {
			role = string(collabv1alpha1.AppHarborRoleCollaborator)
		}
		return e.AppHarbor.Add(provider.Target{Application: s.AppHarbor.Application}, fake.Member{Email: s.AppHarbor.Email, Role: role})
	case s.WebTranslateIt != nil:
		return e.WebTranslateIt.Add(fake.Organization, fake.Member{ID: s.WebTranslateIt.Email})
	}
	e.T.Fatalf("controllertest: Collaborator %s has no provider block", c.Name)
	return fake.Member{}
}

// Held is what a provider holds for the person a Collaborator names.
func (e *Env) Held(c *collabv1alpha1.Collaborator) (fake.Member, bool) {
	s := &c.Spec
	switch {
	case s.QuantConnect != nil:
		return e.QuantConnect.Member(provider.Target{ProjectID: s.QuantConnect.ProjectID}, s.QuantConnect.UserID)
	case s.AppHarbor != nil:
		// By email, which the fake keeps although AppHarbor's answers
		// never show it: the truth, whatever id the object recorded.
		for _, m := range e.AppHarbor.Members(provider.Target{Application: s.AppHarbor.Application}) {
			if strings.EqualFold(m.Email, s.AppHarbor.Email) {
				return m, true
			}
		}
		return fake.Member{}, false
	case s.WebTranslateIt != nil:
		return e.WebTranslateIt.Member(fake.Organization, s.WebTranslateIt.Email)
	}
	return fake.Member{}, false
}

// Holds reports whether the provider holds the person a Collaborator
// names (at any access).
func (e *Env) Holds(c *collabv1alpha1.Collaborator) bool {
	_, ok := e.Held(c)
	return ok
}

// Cond is a condition as tests compare it: without message and times.
type Cond struct {
	Type   string
	Status metav1.ConditionStatus
	Reason string
}

// Conds summarizes conditions for cmp.Diff, sorted by type. Conditions of
// another generation than gen are marked by a Reason suffix "@stale",
// so a test cannot mistake a leftover for this generation's verdict.
func Conds(conds []metav1.Condition, gen int64) []Cond {
	out := make([]Cond, 0, len(conds))
	for _, c := range conds {
		reason := c.Reason
		if c.ObservedGeneration != gen {
			reason += "@stale"
		}
		out = append(out, Cond{Type: c.Type, Status: c.Status, Reason: reason})
	}
	slices.SortFunc(out, func(a, b Cond) int { return strings.Compare(a.Type, b.Type) })
	return out
}

// ConditionsOf summarizes the conditions of a Collaborator, AccessPolicy
// or ProviderConfig for its current generation (see Conds).
func ConditionsOf(obj client.Object) []Cond {
	switch o := obj.(type) {
	case *collabv1alpha1.Collaborator:
		return Conds(o.Status.Conditions, o.Generation)
	case *collabv1alpha1.AccessPolicy:
		return Conds(o.Status.Conditions, o.Generation)
	case *collabv1alpha1.ProviderConfig:
		return Conds(o.Status.Conditions, o.Generation)
	}
	panic(fmt.Sprintf("controllertest: %T has no conditions", obj))
}

// Condition returns the condition of type typ, or nil.
func Condition(conds []metav1.Condition, typ string) *metav1.Condition {
	return meta.FindStatusCondition(conds, typ)
}

// Healthy is the conditions of an object the provider holds as
// specified: Ready=True with reason, Synced=True, nothing abnormal.
func Healthy(reason string) []Cond {
	return []Cond{
		{Type: collabv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: reason},
		{Type: collabv1alpha1.ConditionSynced, Status: metav1.ConditionTrue, Reason: collabv1alpha1.ReasonReconcileSuccess},
	}
}

// Transient is the conditions of a failure that is retried with backoff:
// Ready=False with readyReason, Reconciling=True and Synced=False with
// reason.
func Transient(readyReason, reason string) []Cond {
	return []Cond{
		{Type: collabv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: readyReason},
		{Type: collabv1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: reason},
		{Type: collabv1alpha1.ConditionSynced, Status: metav1.ConditionFalse, Reason: reason},
	}
}

// Terminal is the conditions of a failure only a person can fix:
// Ready=False with readyReason, Stalled=True and Synced=False with reason.
func Terminal(readyReason, reason string) []Cond {
	return []Cond{
		{Type: collabv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: readyReason},
		{Type: collabv1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: reason},
		{Type: collabv1alpha1.ConditionSynced, Status: metav1.ConditionFalse, Reason: reason},
	}
}

// Finding is the conditions of a successful read whose finding only a
// person can resolve (Observe's Drifted, a policy's UnmanagedMembers):
// Ready=False and Stalled=True with reason, Synced=True.
func Finding(reason string) []Cond {
	return []Cond{
		{Type: collabv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason},
		{Type: collabv1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: reason},
		{Type: collabv1alpha1.ConditionSynced, Status: metav1.ConditionTrue, Reason: collabv1alpha1.ReasonReconcileSuccess},
	}
}

// Event is one Event a reconciler published.
type Event struct {
	// Object is the key of the object the Event is about.
	Object types.NamespacedName
	// Type is Normal or Warning.
	Type string
	// Reason and Action are the Event's.
	Reason, Action string
	// Message is the formatted note.
	Message string
}

// Recorder is an events.EventRecorder that keeps every Event, for tests.
// It is safe for concurrent use and never blocks.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

var _ events.EventRecorder = (*Recorder)(nil)

// Eventf records an Event.
func (r *Recorder) Eventf(regarding runtime.Object, _ runtime.Object, eventtype, reason, action, note string, args ...any) {
	ev := Event{Type: eventtype, Reason: reason, Action: action, Message: fmt.Sprintf(note, args...)}
	if o, ok := regarding.(client.Object); ok {
		ev.Object = client.ObjectKeyFromObject(o)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// Events returns a copy of the Events recorded, oldest first.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Reasons lists the reasons of the Events about obj, oldest first.
func (r *Recorder) Reasons(obj client.Object) []string {
	key := client.ObjectKeyFromObject(obj)
	var out []string
	for _, ev := range r.Events() {
		if ev.Object == key {
			out = append(out, ev.Reason)
		}
	}
	return out
}

// Reset forgets the Events recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}
