// Package controllertest is the fast seam of the reconcilers' tests: it
// runs a reconciler's Reconcile directly against controller-runtime's fake
// client (status subresources and field indexes registered as the manager
// registers them) and the in-memory fake providers of
// internal/provider/fake, with no API server and no HTTP.
//
// An Env holds one such world: the fake client, the three fake providers
// behind a provider.Registry, the one connector.Connector the reconcilers
// share, a Recorder of Events, and a log of every API-server write the
// reconcilers make. Tests build reconcilers from its fields, act on the
// world as a person or the provider would (Create, Edit, Delete, and the
// providers' Add, Remove, Inject, Next) and run passes with Reconcile or
// Settle, then read conditions (Conds), provider truth (Holds, the
// providers' Members) and what each pass wrote (Pass).
//
// Nothing sleeps. The providers take their time from Env.Now; the
// reconcilers read the real clock (time.Now) themselves, so tests of
// expiry use instants relative to it.
package controllertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clienttesting "k8s.io/client-go/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/accesspolicy"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/grant"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// DefaultMaxPasses bounds Settle: a reconciler that still writes after
// this many passes in a row, with nothing else changing, is livelocked.
const DefaultMaxPasses = 10

// Env is one test world. Its zero value is not usable: build it with New.
type Env struct {
	// T is the test; helpers fail it on unexpected errors.
	T testing.TB
	// Scheme knows client-go's kinds and collab.dev/v1alpha1.
	Scheme *runtime.Scheme
	// API is the fake client as a person or another controller uses it:
	// its writes are neither logged nor subject to FailWrite. Tests act
	// through it (or through Create, Edit and Delete).
	API client.WithWatch
	// Client is the same store as the reconcilers use it: every write is
	// logged (Writes, Pass.Writes) and may be failed by FailWrite. Build
	// reconcilers with it.
	Client client.WithWatch
	// Registry maps the three provider names to the fake providers'
	// factories.
	Registry *provider.Registry
	// Connector is the one connector the reconcilers share, as the
	// manager builds it (no Secret metadata cache: Secrets are read
	// whole, through Client).
	Connector *connector.Connector
	// QuantConnect, AppHarbor and WebTranslateIt are the provider-side
	// truth.
	QuantConnect, AppHarbor, WebTranslateIt *fake.Provider
	// Recorder collects the Events the reconcilers publish.
	Recorder *Recorder
	// Now is the providers' clock (ObservedAt, list times).
	Now func() time.Time
	// FailWrite, when set, is asked before every write a reconciler makes
	// through Client; a non-nil error is returned instead of writing (an
	// API-server conflict or outage).
	FailWrite func(Write) error

	// epoch is the base of creation times.
	epoch time.Time
	// allowed is the manager's --allowed-provider-urls, for NewConnector.
	allowed *provider.URLAllowList
	// clusterNS is the manager's --cluster-resource-namespace, for
	// NewConnector ("" serves no ClusterProviderConfig).
	clusterNS string

	mu     sync.Mutex
	writes []Write
	seq    int
}

// Write is one API-server write a reconciler made through Env.Client.
type Write struct {
	// Verb is create, update, patch, delete or deleteAllOf.
	Verb string
	// SubResource is "status" for status writes, else "".
	SubResource string
	// Kind is the object's kind (Collaborator, ProviderConfig, Secret...).
	Kind string
	// Key is the object's namespace and name.
	Key types.NamespacedName
}

// String names the write for test failures.
func (w Write) String() string {
	verb := w.Verb
	if w.SubResource != "" {
		verb += "/" + w.SubResource
	}
	return fmt.Sprintf("%s %s %s", verb, w.Kind, w.Key)
}

// config is what Options set.
type config struct {
	allowed      string
	bare         bool
	now          func() time.Time
	providerOpts []fake.Option
	objects      []client.Object
	// plainTracker: see WithoutManagedFields.
	plainTracker bool
	// clusterNS: see WithClusterResourceNamespace.
	clusterNS string
}

// Option tunes New.
type Option func(*config)

// WithAllowedURLs sets the manager's --allowed-provider-urls (default
// provider.DefaultAllowedURLs, which the fixture ProviderConfigs match).
func WithAllowedURLs(list string) Option { return func(c *config) { c.allowed = list } }

// WithClusterResourceNamespace makes the connectors (Env.Connector and
// NewConnector's) serve ClusterProviderConfigs, whose Secrets they read
// from ns, as the manager's --cluster-resource-namespace does. Without it
// they serve none: every reference to one is NotPermitted.
func WithClusterResourceNamespace(ns string) Option { return func(c *config) { c.clusterNS = ns } }

// Bare leaves out the fixture ProviderConfigs and Secrets that New
// otherwise creates for every provider.
func Bare() Option { return func(c *config) { c.bare = true } }

// WithClock sets Env.Now, the fake providers' clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithProviderOptions passes options (fake.WithOwner...) to all three
// fake providers.
func WithProviderOptions(opts ...fake.Option) Option {
	return func(c *config) { c.providerOpts = append(c.providerOpts, opts...) }
}

// WithObjects creates objects (through Env.Create) once the fixtures
// exist.
func WithObjects(objs ...client.Object) Option {
	return func(c *config) { c.objects = append(c.objects, objs...) }
}

// New builds a world: the fake client with the collab.dev kinds' status
// subresources and the manager's field indexes (usage's and
// accesspolicy.Indexes), the three fake providers
// registered under their names, the connector, and (unless Bare) a
// working ProviderConfig and Secret per provider (see ProviderConfig and
// Secret).
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := config{allowed: provider.DefaultAllowedURLs, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := collabv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	builder := fakeclient.NewClientBuilder().
		WithScheme(scheme).
		WithStatusSubresource(&collabv1alpha1.Collaborator{}, &collabv1alpha1.ProviderConfig{}, &collabv1alpha1.AccessPolicy{},
			&collabv1alpha1.ClusterProviderConfig{}).
		WithIndex(&collabv1alpha1.Collaborator{}, usage.IndexProviderConfigRef, usage.RefIndex).
		WithIndex(&collabv1alpha1.ProviderConfig{}, usage.IndexSecretRef, usage.SecretIndex).
		WithIndex(&collabv1alpha1.ClusterProviderConfig{}, usage.IndexSecretRef, usage.SecretIndex)
	for _, ix := range accesspolicy.Indexes() {
		builder = builder.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	builder = builder.WithIndex(&collabv1alpha1.Collaborator{}, grant.IndexField, grant.Extract)
	if cfg.plainTracker {
		builder = builder.WithObjectTracker(clienttesting.NewObjectTracker(scheme, serializer.NewCodecFactory(scheme).UniversalDecoder()))
	}
	api := builder.Build()

	allowed, err := provider.ParseURLAllowList(cfg.allowed)
	if err != nil {
		t.Fatal(err)
	}
	popts := append([]fake.Option{fake.WithClock(func() time.Time { return cfg.now() })}, cfg.providerOpts...)
	e := &Env{
		T: t, Scheme: scheme, API: api, Registry: provider.NewRegistry(),
		QuantConnect:   fake.NewQuantConnect(popts...),
		AppHarbor:      fake.NewAppHarbor(popts...),
		WebTranslateIt: fake.NewWebTranslateIt(popts...),
		Recorder:       &Recorder{},
		Now:            cfg.now,
		epoch:          cfg.now().Truncate(time.Second).Add(-time.Hour),
		allowed:        allowed,
		clusterNS:      cfg.clusterNS,
	}
	for _, p := range e.Providers() {
		e.Registry.Register(p.Name(), p.Factory())
	}
	e.Client = interceptor.NewClient(api, e.logWrites())
	e.Connector = e.NewConnector()
	if !cfg.bare {
		for _, p := range e.Providers() {
			e.Create(Secret(p.Name()), ProviderConfig(p.Name()))
		}
	}
	e.Create(cfg.objects...)
	return e
}

// Providers returns the three fake providers: QuantConnect, AppHarbor,
// WebTranslateIt.
func (e *Env) Providers() []*fake.Provider {
	return []*fake.Provider{e.QuantConnect, e.AppHarbor, e.WebTranslateIt}
}

// Provider returns the fake provider of a provider name
// (collabv1alpha1.ProviderQuantConnect, ...).
func (e *Env) Provider(name string) *fake.Provider {
	for _, p := range e.Providers() {
		if p.Name() == name {
			return p
		}
	}
	e.T.Fatalf("controllertest: no fake provider %q", name)
	return nil
}

// logWrites is the interceptor that logs (and may fail) the reconcilers'
// writes.
func (e *Env) logWrites() interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if err := e.noteWrite("create", "", obj); err != nil {
				return err
			}
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if err := e.noteWrite("update", "", obj); err != nil {
				return err
			}
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if err := e.noteWrite("patch", "", obj); err != nil {
				return err
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if err := e.noteWrite("delete", "", obj); err != nil {
				return err
			}
			return c.Delete(ctx, obj, opts...)
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			if err := e.noteWrite("deleteAllOf", "", obj); err != nil {
				return err
			}
			return c.DeleteAllOf(ctx, obj, opts...)
		},
		SubResourceCreate: func(ctx context.Context, c client.Client, sub string, obj, subObj client.Object, opts ...client.SubResourceCreateOption) error {
			if err := e.noteWrite("create", sub, obj); err != nil {
				return err
			}
			return c.SubResource(sub).Create(ctx, obj, subObj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if err := e.noteWrite("update", sub, obj); err != nil {
				return err
			}
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			if err := e.noteWrite("patch", sub, obj); err != nil {
				return err
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}
}

func (e *Env) noteWrite(verb, sub string, obj client.Object) error {
	w := Write{Verb: verb, SubResource: sub, Kind: e.kindOf(obj), Key: client.ObjectKeyFromObject(obj)}
	if e.FailWrite != nil {
		if err := e.FailWrite(w); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.writes = append(e.writes, w)
	return nil
}

func (e *Env) kindOf(obj runtime.Object) string {
	gvk, err := apiutil.GVKForObject(obj, e.Scheme)
	if err != nil {
		return fmt.Sprintf("%T", obj)
	}
	return gvk.Kind
}

// Writes returns a copy of the log of the reconcilers' writes, oldest
// first.
func (e *Env) Writes() []Write {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.writes)
}

// ResetWrites empties the write log.
func (e *Env) ResetWrites() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.writes = nil
}

// Create stores objects as a person's kubectl apply would, filling what
// the API server fills and the fake client does not: the fixture
// Namespace for a namespaced object without one, a UID, generation 1 and
// a creation time. Creation times are whole seconds (as the API server
// stores them), one second apart in creation order, starting an hour
// before New ran, so that "oldest first" is the order of Create calls.
func (e *Env) Create(objs ...client.Object) {
	e.T.Helper()
	for _, obj := range objs {
		if obj.GetNamespace() == "" && !clusterScoped[e.kindOf(obj)] {
			obj.SetNamespace(Namespace)
		}
		e.mu.Lock()
		e.seq++
		seq := e.seq
		e.mu.Unlock()
		if obj.GetUID() == "" {
			obj.SetUID(types.UID(fmt.Sprintf("uid-%04d-%s", seq, obj.GetName())))
		}
		if obj.GetGeneration() == 0 {
			obj.SetGeneration(1)
		}
		if ts := obj.GetCreationTimestamp(); ts.IsZero() {
			ts.Time = e.epoch.Add(time.Duration(seq) * time.Second)
			obj.SetCreationTimestamp(ts)
		}
		if err := e.API.Create(context.Background(), obj); err != nil {
			e.T.Fatalf("controllertest: creating %s %s: %v", e.kindOf(obj), obj.GetName(), err)
		}
	}
}

// clusterScoped are the kinds Create leaves without a namespace (the fake
// client's REST mapper knows no scopes).
var clusterScoped = map[string]bool{"Namespace": true, "ClusterProviderConfig": true, "ClusterRole": true, "ClusterRoleBinding": true}

// Get refreshes obj from the store by its key and reports whether it
// exists; any error other than NotFound fails the test.
func (e *Env) Get(obj client.Object) bool {
	e.T.Helper()
	err := e.API.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		e.T.Fatalf("controllertest: reading %s %s: %v", e.kindOf(obj), obj.GetName(), err)
	}
	return true
}

// Edit changes a stored object as a person's kubectl edit would: obj is
// refreshed, change mutates it (it captures obj), and the result is
// stored. The generation moves when the spec changed, as the API server
// moves it. Status changes are not stored (status is a subresource; see
// EditStatus).
func (e *Env) Edit(obj client.Object, change func()) {
	e.T.Helper()
	if !e.Get(obj) {
		e.T.Fatalf("controllertest: editing %s %s: not found", e.kindOf(obj), obj.GetName())
	}
	before := e.spec(obj)
	change()
	if !equality.Semantic.DeepEqual(before, e.spec(obj)) {
		obj.SetGeneration(obj.GetGeneration() + 1)
	}
	if err := e.API.Update(context.Background(), obj); err != nil {
		e.T.Fatalf("controllertest: updating %s %s: %v", e.kindOf(obj), obj.GetName(), err)
	}
}

// EditStatus changes a stored object's status, as another writer (or a
// restore from a backup) would: obj is refreshed, change mutates it, and
// the status is stored.
func (e *Env) EditStatus(obj client.Object, change func()) {
	e.T.Helper()
	if !e.Get(obj) {
		e.T.Fatalf("controllertest: editing the status of %s %s: not found", e.kindOf(obj), obj.GetName())
	}
	change()
	if err := e.API.Status().Update(context.Background(), obj); err != nil {
		e.T.Fatalf("controllertest: updating the status of %s %s: %v", e.kindOf(obj), obj.GetName(), err)
	}
}

func (e *Env) spec(obj client.Object) any {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		e.T.Fatalf("controllertest: converting %T: %v", obj, err)
	}
	return u["spec"]
}

// Delete asks the store to delete obj, as kubectl delete would: an object
// with finalizers gets a deletion timestamp and stays until they are
// removed. obj is refreshed afterwards when it still exists.
func (e *Env) Delete(obj client.Object) {
	e.T.Helper()
	if err := e.API.Delete(context.Background(), obj); err != nil {
		e.T.Fatalf("controllertest: deleting %s %s: %v", e.kindOf(obj), obj.GetName(), err)
	}
	e.Get(obj)
}

// ForceDelete makes obj gone for good, whatever holds it: its finalizers
// are stripped and it is deleted, as a person does to a ProviderConfig or
// Secret removed by force (or a namespace torn down around it).
func (e *Env) ForceDelete(obj client.Object) {
	e.T.Helper()
	if !e.Get(obj) {
		e.T.Fatalf("controllertest: force-deleting %s %s: not found", e.kindOf(obj), obj.GetName())
	}
	if len(obj.GetFinalizers()) > 0 {
		obj.SetFinalizers(nil)
		if err := e.API.Update(context.Background(), obj); err != nil {
			e.T.Fatalf("controllertest: stripping the finalizers of %s %s: %v", e.kindOf(obj), obj.GetName(), err)
		}
	}
	if err := e.API.Delete(context.Background(), obj); client.IgnoreNotFound(err) != nil {
		e.T.Fatalf("controllertest: deleting %s %s: %v", e.kindOf(obj), obj.GetName(), err)
	}
}

// Pass is what one Reconcile call did.
type Pass struct {
	// Result and Err are what Reconcile returned.
	Result ctrl.Result
	Err    error
	// Writes are the API-server writes the pass made.
	Writes []Write
	// Calls are the requests the fake providers received during the pass.
	Calls []Call
}

// Call is one request a fake provider received.
type Call struct {
	// Provider is the provider's name.
	Provider string
	fake.Record
}

// String names the call for test failures.
func (c Call) String() string {
	s := fmt.Sprintf("%s %s", c.Provider, c.Op)
	if c.Member != "" {
		s += " " + c.Member
	}
	return s + " -> " + c.Answer.Kind.String()
}

// ProviderWrites counts the pass's write requests (create, update,
// delete, remove) to any provider, whatever their answer.
func (p Pass) ProviderWrites() int { return len(p.WriteOps()) }

// WriteOps lists the pass's provider write requests (create, update,
// delete, remove) in order, whatever their answer: what a test compares
// when how often the provider is read is not the point.
func (p Pass) WriteOps() []fake.Op {
	ops := make([]fake.Op, 0, len(p.Calls))
	for _, c := range p.Calls {
		if IsWrite(c.Op) {
			ops = append(ops, c.Op)
		}
	}
	return ops
}

// IsWrite reports whether op changes the provider (create, update,
// delete, remove), as fake.Provider.Writes counts them.
func IsWrite(op fake.Op) bool {
	switch op {
	case fake.OpCreate, fake.OpUpdate, fake.OpDelete, fake.OpRemove:
		return true
	}
	return false
}

// Ops lists the pass's provider requests in order, for cmp.Diff (empty,
// not nil, when there were none: compare with cmpopts.EquateEmpty).
func (p Pass) Ops() []fake.Op {
	ops := make([]fake.Op, 0, len(p.Calls))
	for _, c := range p.Calls {
		ops = append(ops, c.Op)
	}
	return ops
}

// Quiet reports a pass that succeeded and wrote nothing to the API
// server: in a running manager no watch event would follow it, so the
// object rests until its requeue.
func (p Pass) Quiet() bool { return p.Err == nil && len(p.Writes) == 0 }

// Reconcile runs one pass of r for obj's key and returns what it did.
// obj is refreshed afterwards when it still exists.
func (e *Env) Reconcile(r reconcile.Reconciler, obj client.Object) Pass {
	e.T.Helper()
	return e.ReconcileKey(r, client.ObjectKeyFromObject(obj), obj)
}

// ReconcileKey runs one pass of r for key; obj, when not nil, is
// refreshed afterwards when it still exists.
func (e *Env) ReconcileKey(r reconcile.Reconciler, key types.NamespacedName, obj client.Object) Pass {
	e.T.Helper()
	e.mu.Lock()
	firstWrite := len(e.writes)
	e.mu.Unlock()
	firstCall := map[*fake.Provider]int{}
	for _, p := range e.Providers() {
		firstCall[p] = len(p.Calls())
	}
	res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: key})
	pass := Pass{Result: res, Err: err}
	e.mu.Lock()
	if firstWrite <= len(e.writes) {
		pass.Writes = slices.Clone(e.writes[firstWrite:])
	}
	e.mu.Unlock()
	for _, p := range e.Providers() {
		calls := p.Calls()
		if firstCall[p] > len(calls) { // ResetCalls ran in between
			firstCall[p] = 0
		}
		for _, rec := range calls[firstCall[p]:] {
			pass.Calls = append(pass.Calls, Call{Provider: p.Name(), Record: rec})
		}
	}
	if obj != nil {
		e.Get(obj)
	}
	return pass
}

// Settle runs passes of r for obj until one is Quiet (what a running
// manager does: each write's watch event brings the object back at once)
// and returns them all. It fails the test after DefaultMaxPasses passes
// that are not quiet. obj is refreshed afterwards when it still exists.
func (e *Env) Settle(r reconcile.Reconciler, obj client.Object) []Pass {
	e.T.Helper()
	var passes []Pass
	for range DefaultMaxPasses {
		p := e.Reconcile(r, obj)
		passes = append(passes, p)
		if p.Quiet() {
			return passes
		}
	}
	e.T.Fatalf("controllertest: %s %s did not settle in %d passes:\n%s", e.kindOf(obj), obj.GetName(),
		DefaultMaxPasses, DescribePasses(passes))
	return passes
}

// Run runs n passes of r for obj, whatever they do, and returns them:
// for objects that a running manager would bring back only at their
// requeue (a failure's retry, a terminal state that keeps rewriting
// something no watch passes on). obj is refreshed afterwards when it
// still exists.
func (e *Env) Run(r reconcile.Reconciler, obj client.Object, n int) []Pass {
	e.T.Helper()
	passes := make([]Pass, 0, n)
	for range n {
		passes = append(passes, e.Reconcile(r, obj))
	}
	return passes
}

// SettleAll settles every object, in order, repeating the round until a
// whole round is quiet: for worlds where one object's pass changes what
// another's finds (a ProviderConfig's finalizer, a policy's members).
func (e *Env) SettleAll(r reconcile.Reconciler, objs ...client.Object) {
	e.T.Helper()
	for range DefaultMaxPasses {
		quiet := true
		for _, obj := range objs {
			if passes := e.Settle(r, obj); len(passes) > 1 {
				quiet = false
			}
		}
		if quiet {
			return
		}
	}
	e.T.Fatalf("controllertest: %d objects did not settle together in %d rounds", len(objs), DefaultMaxPasses)
}

// DescribePasses renders passes for a test failure.
func DescribePasses(passes []Pass) string {
	var b strings.Builder
	for i, p := range passes {
		fmt.Fprintf(&b, "pass %d: result %+v, err %v\n", i+1, p.Result, p.Err)
		for _, w := range p.Writes {
			fmt.Fprintf(&b, "  write %s\n", w)
		}
		for _, c := range p.Calls {
			fmt.Fprintf(&b, "  call %s\n", c)
		}
	}
	return b.String()
}

// Secrets' data for the fixtures, by key. They are the providers' own
// keys, so the fake factories accept them.
var secretData = map[string]map[string]string{
	collabv1alpha1.ProviderQuantConnect: {
		collabv1alpha1.QuantConnectUserIDKey:   QuantConnectAccount,
		collabv1alpha1.QuantConnectAPITokenKey: "qc-token",
	},
	collabv1alpha1.ProviderAppHarbor:      {collabv1alpha1.AppHarborAccessTokenKey: "ah-token"},
	collabv1alpha1.ProviderWebTranslateIt: {collabv1alpha1.WebTranslateItOrganizationTokenKey: "wti-token"},
}

// Secret returns the fixture credentials Secret of a provider
// (SecretName(providerName), in Namespace), holding its keys.
func Secret(providerName string) *corev1.Secret {
	s := &corev1.Secret{}
	s.Name, s.Namespace = SecretName(providerName), Namespace
	s.Data = map[string][]byte{}
	for k, v := range secretData[providerName] {
		s.Data[k] = []byte(v)
	}
	return s
}

// CredentialKeys lists the keys a provider's Secret must hold.
func CredentialKeys(providerName string) []string {
	keys := make([]string, 0, 2)
	for k := range secretData[providerName] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
