package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// Every kind reads as in progress from the moment it is created, before
// any manager has written its status: the API server defaults
// status.observedGeneration to 0, which kstatus (Flux) and the Argo CD
// health check compare with metadata.generation.
func TestNewObjectsAreInProgressBeforeAnyPass(t *testing.T) {
	f := newFixture(t)
	pc := &collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "qc"}, Spec: collabv1alpha1.ProviderConfigSpec{
		QuantConnect: &collabv1alpha1.QuantConnectConfig{BaseURL: f.qcURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "qc-creds"}}}}
	tests := map[string]struct {
		obj client.Object
	}{
		"Collaborator":   {obj: qcCollaborator("mia", "qc", "mia-ai", false, false)},
		"ProviderConfig": {obj: pc},
		"AccessPolicy":   {obj: qcPolicy("project", collabv1alpha1.AccessPolicyReport, 1)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f.create(tc.obj)
			u := &unstructured.Unstructured{}
			gvk, err := k8s.GroupVersionKindFor(tc.obj)
			must(t, err)
			u.SetGroupVersionKind(gvk)
			must(t, k8s.Get(context.Background(), client.ObjectKeyFromObject(tc.obj), u))
			got, found, err := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
			if err != nil || !found || got != 0 {
				t.Errorf("status.observedGeneration = %d (found %t, %v), want 0 from the CRD default", got, found, err)
			}
			res, err := status.Compute(u)
			must(t, err)
			if res.Status != status.InProgressStatus {
				t.Errorf("kstatus %s (%s), want InProgress", res.Status, res.Message)
			}
		})
	}
}

// A first pass that answers quickly writes status once: no Ready=Unknown
// version comes before Ready=True, the object never reads as Current
// before it is Ready, and it is Ready only once its external id is stored.
func TestFastFirstPassWritesStatusOnce(t *testing.T) {
	f := newFixture(t)
	f.quantConnectConfig(time.Minute)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.waitProviderConfigReady()

	wc, err := client.NewWithWatch(testCfg, client.Options{Scheme: testScheme})
	must(t, err)
	// Unstructured, as Flux reads it: a typed object would drop the
	// defaulted observedGeneration 0 (omitempty).
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(collabv1alpha1.GroupVersion.WithKind("CollaboratorList"))
	w, err := wc.Watch(context.Background(), list, client.InNamespace(f.ns))
	must(t, err)
	defer w.Stop()
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))

	var versions []string
	timeout := time.After(20 * time.Second)
	for {
		select {
		case <-timeout:
			t.Fatalf("not Ready within 20s; versions seen: %v", versions)
		case ev := <-w.ResultChan():
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			c := &collabv1alpha1.Collaborator{}
			must(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, c))
			ready := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady)
			versions = append(versions, fmt.Sprintf("%s %s %v g%d", ev.Type, conditionSummary(ready), u.Object["status"], u.GetGeneration()))
			if ready != nil && ready.Status != metav1.ConditionTrue {
				t.Fatalf("a fast first pass wrote Ready=%s %s before Ready=True; versions: %v", ready.Status, ready.Reason, versions)
			}
			if ready == nil {
				res, err := status.Compute(u)
				must(t, err)
				if res.Status != status.InProgressStatus {
					t.Fatalf("before its first status write the object read as %s; versions: %v", res.Status, versions)
				}
			}
			if ready != nil {
				// Whoever waits for Ready finds the provider's id.
				if c.Annotations[collabv1alpha1.ExternalIDAnnotation] == "" {
					t.Errorf("the first Ready version has no external-id annotation: %v", c.Annotations)
				}
				return
			}
		}
	}
}

func conditionSummary(c *metav1.Condition) string {
	if c == nil {
		return "no Ready"
	}
	return fmt.Sprintf("Ready=%s %s", c.Status, c.Reason)
}

// A first pass whose provider is slow says so: Ready=Unknown "Creating"
// while the create waits, then Ready=True with nothing of it left behind.
func TestSlowFirstPassWritesCreating(t *testing.T) {
	f := newFixture(t)
	f.quantConnectConfig(time.Minute)
	// Every provider answer takes longer than slowFirstPass.
	f.qc.DelayNext(1000, 2*time.Second)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))

	c := f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionUnknown, collabv1alpha1.ReasonCreating)
	if !meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionReconciling) {
		t.Errorf("Reconciling is not True while creating: %+v", c.Status.Conditions)
	}
	if c.Status.ObservedGeneration != c.Generation || c.Status.Member != "mia-ai" {
		t.Errorf("observedGeneration %d (want %d), member %q (want mia-ai)", c.Status.ObservedGeneration, c.Generation, c.Status.Member)
	}
	f.qc.ClearFaults()
	c = f.waitReady("mia")
	if meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionReconciling) {
		t.Errorf("Reconciling still True once Ready: %+v", c.Status.Conditions)
	}
}

// A steady-state resync reads the provider but writes nothing to the API
// server: the object's resourceVersion does not move.
func TestSteadyStateResyncWritesNothing(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Second)
	f.create(qcCollaborator("mia", "qc", "mia-ai", true, false))
	f.waitReady("mia")
	// Let the annotation write's own reconcile finish before sampling.
	reads := func() int {
		return f.qc.CountWhere(func(r simkit.RequestRecord) bool { return strings.HasSuffix(r.Path, "/collaboration/read") })
	}
	start := reads()
	eventually(t, 10*time.Second, func() error {
		if reads() < start+1 {
			return fmt.Errorf("no resync yet")
		}
		return nil
	})
	rv := f.collaborator("mia").ResourceVersion
	start = reads()
	eventually(t, 10*time.Second, func() error {
		if n := reads(); n < start+3 {
			return fmt.Errorf("%d resyncs so far", n-start)
		}
		return nil
	})
	if got := f.collaborator("mia").ResourceVersion; got != rv {
		t.Errorf("resourceVersion moved from %s to %s during steady-state resyncs", rv, got)
	}
}
