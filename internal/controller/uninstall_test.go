package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// foreignFinalizer is someone else's finalizer on a Collaborator.
const foreignFinalizer = "test.collab.dev/hold"

// ownAPIServer points this package's fixtures (k8s, testCfg, and so
// newFixture and startManager) at an API server of the test's own until it
// ends: an uninstall deletes the CRDs, which the other tests share. Call it
// before newFixture.
func ownAPIServer(t *testing.T) {
	t.Helper()
	env, cfg, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: testScheme})
	if err != nil {
		_ = env.Stop()
		t.Fatal(err)
	}
	sharedCfg, sharedK8s := testCfg, k8s
	testCfg, k8s = cfg, cl
	// Registered first, so it runs last: after the manager has stopped.
	t.Cleanup(func() {
		testCfg, k8s = sharedCfg, sharedK8s
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the test's API server: %v", err)
		}
	})
}

// providerDeletes counts the delete requests the QuantConnect and
// WebTranslateIt simulators received.
func providerDeletes(f *fixture) int {
	return qcRequests(f, "/projects/collaboration/delete") +
		f.wti.CountWhere(func(r simkit.RequestRecord) bool { return r.Method == http.MethodDelete })
}

// waitFinalizer waits until obj (read straight from the API server) holds
// the in-use finalizer, or no longer does, and is not being deleted.
func (f *fixture) waitInUse(obj client.Object, want bool) {
	f.t.Helper()
	eventually(f.t, 30*time.Second, func() error {
		if err := f.get(obj.GetName(), obj); err != nil {
			return err
		}
		if has := slices.Contains(obj.GetFinalizers(), collabv1alpha1.InUseFinalizer); has != want {
			return fmt.Errorf("%T %s: in-use finalizer %v, want %v (finalizers %v)", obj, obj.GetName(), has, want, obj.GetFinalizers())
		}
		if !obj.GetDeletionTimestamp().IsZero() {
			return fmt.Errorf("%T %s is being deleted", obj, obj.GetName())
		}
		return nil
	})
}

// Uninstalling never revokes (API.md, "What holds whatever the load"): with
// people granted at QuantConnect and WebTranslateIt, a paused Collaborator,
// one whose delete is blocked, and an Enforce AccessPolicy over the
// project, deleting the CRDs as `kubectl delete -f install.yaml` does
// releases every Collaborator with no provider delete at all, each with an
// Orphaned Event saying why; the ProviderConfigs and Secrets lose
// collab.dev/in-use, even while another finalizer keeps a Collaborator, so
// nothing stays Terminating and every CRD goes; and
// everyone is still at the providers. Before the uninstall, with the CRD
// intact, a deleted Collaborator is revoked as always.
func TestUninstallReleasesEveryoneWithoutRevoking(t *testing.T) {
	ownAPIServer(t)
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	ctx := context.Background()
	f.quantConnectConfig(time.Minute)
	f.webTranslateItConfig()
	f.create(qcCollaborator("mia", "qc", "mia-ai", true, false))
	f.create(qcCollaborator("noah", "qc", "noah", false, false))
	f.create(wtiCollaborator("bob", "bob@example.com"))
	f.create(wtiCollaborator("carol", "carol@example.com"))
	for _, name := range []string{"mia", "noah", "bob", "carol"} {
		f.waitReady(name)
	}
	f.create(qcPolicy("project", collabv1alpha1.AccessPolicyEnforce, 5))
	f.waitPolicy("project", metav1.ConditionTrue, collabv1alpha1.ReasonCompliant)

	// The normal path, with the CRD intact: a delete revokes.
	carol := f.collaborator("carol")
	f.delete(carol)
	f.waitGone(carol)
	if f.wti.IsMember(wtiToken, "carol@example.com") {
		t.Fatal("carol is still a WebTranslateIt member after her Collaborator was deleted with the CRD intact")
	}
	f.waitEvents("carol", "Deleted")

	// A paused Collaborator, whose deletion would wait for the pause.
	noah := f.collaborator("noah")
	f.update(noah, func() { noah.Annotations = map[string]string{collabv1alpha1.PausedAnnotation: "true"} })
	f.waitCondition("noah", collabv1alpha1.ConditionSynced, metav1.ConditionFalse, collabv1alpha1.ReasonPaused)
	// A Collaborator whose delete is blocked: its ProviderConfig is missing.
	f.create(qcCollaborator("stuck", "missing", "mia-ai", false, false))
	eventually(t, 20*time.Second, func() error {
		if c := f.collaborator("stuck"); !slices.Contains(c.Finalizers, collabv1alpha1.Finalizer) {
			return fmt.Errorf("stuck has no finalizer yet: %v", c.Finalizers)
		}
		return nil
	})
	f.delete(f.collaborator("stuck"))
	f.waitCondition("stuck", collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonDeleting)
	// A Collaborator that someone else's finalizer keeps after the
	// operator let it go: its credentials must not be held for it.
	held := wtiCollaborator("held", "dave@example.com")
	held.Finalizers = []string{foreignFinalizer}
	f.create(held)
	f.waitReady("held")

	holders := []client.Object{
		&collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "qc"}},
		&collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "wti"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "qc-creds"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "wti-creds"}},
	}
	for _, h := range holders {
		f.waitInUse(h, true)
	}
	deletesBefore := providerDeletes(f)

	// The uninstall: the CRD of Collaborators is deleted (the API server
	// then deletes every Collaborator), the other CRDs with it.
	crds := []string{uninstall.CRDName, "providerconfigs.collab.dev", "accesspolicies.collab.dev"}
	if err := k8s.Delete(ctx, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: uninstall.CRDName}}); err != nil {
		t.Fatal(err)
	}
	// The ProviderConfigs and Secrets lose their finalizers while they
	// stay, even while a Collaborator is still there (kept by another
	// finalizer): nothing the uninstall leaves behind is held.
	for _, h := range holders {
		f.waitInUse(h, false)
	}
	eventually(t, 20*time.Second, func() error {
		if err := f.get("held", held); err != nil {
			return err
		}
		if !slices.Equal(held.Finalizers, []string{foreignFinalizer}) || held.DeletionTimestamp.IsZero() {
			return fmt.Errorf("held: finalizers %v, deletionTimestamp %v; want only %s, deleted", held.Finalizers, held.DeletionTimestamp, foreignFinalizer)
		}
		return nil
	})
	f.update(held, func() { held.Finalizers = nil })
	for _, name := range crds[1:] {
		if err := k8s.Delete(ctx, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	// Every CRD goes, so no Collaborator or ProviderConfig stayed.
	eventually(t, 90*time.Second, func() error {
		for _, name := range crds {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			err := k8s.Get(ctx, client.ObjectKey{Name: name}, crd)
			if err == nil {
				return fmt.Errorf("CRD %s is still there (finalizers %v, conditions %+v)", name, crd.Finalizers, crd.Status.Conditions)
			}
			if !apierrors.IsNotFound(err) {
				return err
			}
		}
		return nil
	})

	if n := providerDeletes(f) - deletesBefore; n != 0 {
		t.Errorf("the uninstall sent %d delete requests to the providers; want none", n)
	}
	for _, user := range []string{"mia-ai", "noah"} {
		if _, ok := qcMember(f, user); !ok {
			t.Errorf("%s is no longer on the QuantConnect project after the uninstall", user)
		}
	}
	if !f.wti.IsMember(wtiToken, "bob@example.com") {
		t.Error("bob is no longer a WebTranslateIt member after the uninstall")
	}
	for _, name := range []string{"mia", "noah", "bob", "stuck", "held"} {
		f.waitEvents(name, "Orphaned")
	}
	events := &eventsv1.EventList{}
	must(t, k8s.List(ctx, events, client.InNamespace(f.ns)))
	for _, e := range events.Items {
		if e.Reason == "Orphaned" {
			if err := containsAll(e.Note, uninstall.CRDName+" is being deleted", "never revokes", "delete the Collaborators first"); err != nil {
				t.Errorf("Orphaned event of %s: %v", e.Regarding.Name, err)
			}
		}
		if e.Reason == "Removed" || (e.Reason == "Deleted" && e.Regarding.Name != "carol") {
			t.Errorf("event %s of %s during the uninstall: %s", e.Reason, e.Regarding.Name, e.Note)
		}
	}
	// The Secrets stay, without the operator's finalizer.
	for _, h := range holders[2:] {
		f.waitInUse(h, false)
	}
	logged := logs.String()
	if !strings.Contains(logged, "the operator is being uninstalled") {
		t.Error("the manager did not log the uninstall")
	}
	if strings.Contains(logged, "Listing the objects to release for the uninstall failed") {
		t.Error("a controller could not list what to release when the uninstall began")
	}
	// Installed again (which the credential scan at the end needs to list
	// Collaborators), the operator starts from nothing.
	if _, err := envtest.InstallCRDs(testCfg, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")}, ErrorIfPathMissing: true,
	}); err != nil {
		t.Fatalf("installing the CRDs again: %v", err)
	}
}

// While the CRD is intact, deleting a Collaborator revokes as always: the
// uninstall watch changes nothing on the normal path.
func TestUninstallNotUnderwayDeleteStillRevokes(t *testing.T) {
	f, mia := readyMia(t, managerOptions{})
	before := qcRequests(f, "/projects/collaboration/delete")
	f.delete(mia)
	f.waitGone(mia)
	if n := qcRequests(f, "/projects/collaboration/delete") - before; n != 1 {
		t.Errorf("%d delete requests; want 1", n)
	}
	if _, ok := qcMember(f, "mia-ai"); ok {
		t.Error("mia-ai is still on the project after her Collaborator was deleted")
	}
	f.waitEvents("mia", "Deleted")
}

// The one rule the generated RBAC grants for the uninstall watch (get,
// list, watch on the CRD collaborators.collab.dev, by name) is enough for
// it: the API server authorizes the watch's list and watch by their field
// selector on that name. Without it the manager carries on as before: the
// watch says so once, never says uninstalling, and a deleted Collaborator
// is revoked.
func TestUninstallWatchNeedsOnlyTheNamedCRD(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "role.yaml"))
	must(t, err)
	generated := &rbacv1.ClusterRole{}
	must(t, yaml.Unmarshal(data, generated))
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{GenerateName: "uninstall-watch-"}}
	for _, r := range generated.Rules {
		if slices.Contains(r.APIGroups, "apiextensions.k8s.io") {
			role.Rules = append(role.Rules, r)
		}
	}
	if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].ResourceNames, []string{uninstall.CRDName}) {
		t.Fatalf("config/rbac/role.yaml grants %+v on CRDs; want one rule on %s by name", role.Rules, uninstall.CRDName)
	}
	must(t, k8s.Create(ctx, role))
	t.Cleanup(func() { _ = k8s.Delete(ctx, role) })
	reader := "uninstall-reader-" + role.Name
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: reader}},
	}
	must(t, k8s.Create(ctx, binding))
	t.Cleanup(func() { _ = k8s.Delete(ctx, binding) })

	start := func(user string) *uninstall.Watch {
		cfg := rest.CopyConfig(testCfg)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		hc, err := rest.HTTPClientFor(cfg)
		must(t, err)
		w, err := uninstall.New(cfg, hc, uninstall.CRDName, logr.Discard())
		must(t, err)
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = w.Start(wctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return w
	}

	// The API server enforces the name: the reader may not list every CRD,
	// and nobody else may read this one.
	as := func(user string) metadata.Interface {
		cfg := rest.CopyConfig(testCfg)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		md, err := metadata.NewForConfig(cfg)
		must(t, err)
		return md
	}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := as(reader).Resource(crds).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing every CRD with the generated rule: %v; want forbidden", err)
	}
	if _, err := as("uninstall-nobody").Resource(crds).Get(ctx, uninstall.CRDName, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("reading the CRD without the rule: %v; want forbidden (is RBAC enforced?)", err)
	}

	allowed := start(reader)
	eventually(t, 20*time.Second, func() error {
		if !allowed.HasSynced() {
			return errors.New("the watch of a manager with the generated rule has not synced")
		}
		return nil
	})
	if ok, err := allowed.Confirm(ctx); ok || err != nil {
		t.Errorf("Confirm = %v, %v with the CRD intact; want false", ok, err)
	}

	refused := start("uninstall-nobody")
	eventually(t, 20*time.Second, func() error {
		// Before the watch starts, a refusal is an error (it could be an
		// uninstall removing the manager's RBAC); once it has found it may
		// not read the CRD, the manager behaves as before.
		ok, err := refused.Confirm(ctx)
		if err != nil {
			return fmt.Errorf("Confirm: %w; want no error once the watch found it may not read the CRD", err)
		}
		if ok {
			return errors.New("Confirm says uninstalling with the CRD intact")
		}
		return nil
	})
	if refused.HasSynced() || refused.Uninstalling() {
		t.Error("a watch that may not read the CRD says it synced or that the operator is being uninstalled")
	}
}

// Uninstalling releases Collaborators that use a ClusterProviderConfig as
// it does the others: no provider delete, an Orphaned Event, and the
// in-use finalizers leave the ClusterProviderConfig and its Secret in the
// cluster resource namespace, so nothing stays Terminating.
func TestUninstallReleasesClusterProviderConfigs(t *testing.T) {
	ownAPIServer(t)
	f := newClusterFixture(t, managerOptions{})
	ctx := context.Background()
	f.createClusterConfig(collabv1alpha1.ClusterGrant{Namespaces: []string{f.ns}})
	f.create(f.viaCluster("mia", "mia-ai", qcProject, true, false))
	f.waitReady("mia")
	cpcKey, secretKey := client.ObjectKey{Name: f.cpc}, client.ObjectKey{Namespace: f.clusterNS, Name: "qc-org"}
	eventually(t, 20*time.Second, func() error {
		return errors.Join(hasInUse(t, cpcKey, &collabv1alpha1.ClusterProviderConfig{}),
			hasInUse(t, secretKey, &corev1.Secret{}))
	})
	deletesBefore := providerDeletes(f.fixture)

	if err := k8s.Delete(ctx, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: uninstall.CRDName}}); err != nil {
		t.Fatal(err)
	}
	f.waitGone(&collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Name: "mia", Namespace: f.ns}})
	eventually(t, 30*time.Second, func() error {
		cpc, secret := &collabv1alpha1.ClusterProviderConfig{}, &corev1.Secret{}
		if err := errors.Join(k8s.Get(ctx, cpcKey, cpc), k8s.Get(ctx, secretKey, secret)); err != nil {
			return err
		}
		if held := append(cpc.Finalizers, secret.Finalizers...); slices.Contains(held, collabv1alpha1.InUseFinalizer) {
			return fmt.Errorf("still held: ClusterProviderConfig %v, Secret %v", cpc.Finalizers, secret.Finalizers)
		}
		return nil
	})
	if n := providerDeletes(f.fixture) - deletesBefore; n != 0 {
		t.Errorf("the uninstall sent %d delete requests; want none", n)
	}
	if _, ok := qcMember(f.fixture, "mia-ai"); !ok {
		t.Error("mia-ai is no longer on the QuantConnect project after the uninstall")
	}
	f.waitEvents("mia", "Orphaned")
	// Nothing holds the CRD: it goes. It then comes back for the checks
	// that run after each test (the credential scan lists Collaborators).
	eventually(t, 60*time.Second, func() error {
		err := k8s.Get(ctx, client.ObjectKey{Name: uninstall.CRDName}, &apiextensionsv1.CustomResourceDefinition{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("the Collaborator CRD is still there: %w", err)
	})
	if _, err := envtest.InstallCRDs(testCfg, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")}, ErrorIfPathMissing: true,
	}); err != nil {
		t.Fatalf("installing the CRDs again: %v", err)
	}
}
