package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

func cond(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: "m"}
}

func TestStatusCollector(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := collabv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	stalled := &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Namespace: "trading", Name: "mia"},
		Spec: collabv1alpha1.CollaboratorSpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "qc"},
			QuantConnect:      &collabv1alpha1.QuantConnectCollaborator{ProjectID: 1, UserID: "mia"},
		},
		Status: collabv1alpha1.CollaboratorStatus{Conditions: []metav1.Condition{
			cond(collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonCredentialsInvalid),
			cond(collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonCredentialsInvalid),
		}},
	}
	fresh := &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Namespace: "trading", Name: "new"},
		Spec: collabv1alpha1.CollaboratorSpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "wti"},
			WebTranslateIt:    &collabv1alpha1.WebTranslateItCollaborator{Email: "a@example.com"},
			ExpiresAt:         &metav1.Time{Time: time.Unix(1798761600, 0)},
		},
	}
	pc := &collabv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "trading", Name: "qc"},
		Spec: collabv1alpha1.ProviderConfigSpec{
			QuantConnect: &collabv1alpha1.QuantConnectConfig{},
		},
		Status: collabv1alpha1.ProviderConfigStatus{Conditions: []metav1.Condition{
			cond(collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonAvailable),
		}},
	}
	policy := &collabv1alpha1.AccessPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "trading", Name: "team"},
		Spec: collabv1alpha1.AccessPolicySpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "qc"},
			QuantConnect:      &collabv1alpha1.QuantConnectPolicyTarget{ProjectID: 1},
		},
		Status: collabv1alpha1.AccessPolicyStatus{
			ObservedGeneration: 1,
			Conditions: []metav1.Condition{
				cond(collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonUnmanagedMembers),
			},
			Unmanaged: []collabv1alpha1.UnmanagedMember{{Member: "lee-q", Access: "write"}, {Member: "kim", Access: "read"}},
		},
	}
	// A policy the operator has not looked at yet has no count: absent,
	// not zero, so that "no unmanaged members" is never claimed unread.
	unread := &collabv1alpha1.AccessPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "trading", Name: "unread"},
		Spec: collabv1alpha1.AccessPolicySpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "ah"},
			AppHarbor:         &collabv1alpha1.AppHarborPolicyTarget{Application: "my-app"},
		},
	}
	cl := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(stalled, fresh, pc, policy, unread).
		WithStatusSubresource(stalled, fresh, pc, policy, unread).Build()

	// A fresh object without conditions publishes nothing: absence is
	// what an alert on "Ready never became True" must not confuse with
	// False.
	want := `
# HELP collab_status_condition The conditions of Collaborators, ProviderConfigs, ClusterProviderConfigs and AccessPolicies as last written to their status: 1 for each condition an object has, by kind, namespace, name, provider, condition, status and reason.
# TYPE collab_status_condition gauge
collab_status_condition{condition="Ready",kind="Collaborator",name="mia",namespace="trading",provider="QuantConnect",reason="CredentialsInvalid",status="False"} 1
collab_status_condition{condition="Stalled",kind="Collaborator",name="mia",namespace="trading",provider="QuantConnect",reason="CredentialsInvalid",status="True"} 1
collab_status_condition{condition="Ready",kind="ProviderConfig",name="qc",namespace="trading",provider="QuantConnect",reason="Available",status="True"} 1
collab_status_condition{condition="Ready",kind="AccessPolicy",name="team",namespace="trading",provider="QuantConnect",reason="UnmanagedMembers",status="False"} 1
`
	c := &StatusCollector{Reader: cl, Log: logr.Discard()}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), StatusConditionName); err != nil {
		t.Error(err)
	}
	// Only Collaborators with expiresAt have an expiry.
	wantExpiry := `
# HELP collab_collaborator_expiry_timestamp_seconds When a Collaborator's access ends (spec.expiresAt), in seconds since the Unix epoch, by namespace, name and provider; absent for Collaborators without expiresAt.
# TYPE collab_collaborator_expiry_timestamp_seconds gauge
collab_collaborator_expiry_timestamp_seconds{name="new",namespace="trading",provider="WebTranslateIt"} 1.7987616e+09
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(wantExpiry), ExpiryTimestampName); err != nil {
		t.Error(err)
	}
	wantUnmanaged := `
# HELP collab_accesspolicy_unmanaged_members Members at the provider that no Collaborator declares, as an AccessPolicy last reported them (status.unmanaged), by namespace, name and provider; the owner, the ProviderConfig's own account and exempt members are not counted.
# TYPE collab_accesspolicy_unmanaged_members gauge
collab_accesspolicy_unmanaged_members{name="team",namespace="trading",provider="QuantConnect"} 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(wantUnmanaged), UnmanagedMembersName); err != nil {
		t.Error(err)
	}
}

// TestMemberRemoved counts removals by provider.
func TestMemberRemoved(t *testing.T) {
	before := testutil.ToFloat64(removals.WithLabelValues("AppHarbor"))
	MemberRemoved("AppHarbor")
	if got := testutil.ToFloat64(removals.WithLabelValues("AppHarbor")) - before; got != 1 {
		t.Errorf("collab_accesspolicy_removals_total grew by %v, want 1", got)
	}
}

// failingReader fails every list, as a cache that has not synced does.
type failingReader struct{ client.Reader }

func (failingReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("cache not started")
}

// TestStatusCollectorListFailure: a failed list publishes nothing and
// does not fail the scrape, which would hide every other metric.
func TestStatusCollectorListFailure(t *testing.T) {
	c := &StatusCollector{Reader: failingReader{}, Log: logr.Discard()}
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("collected %d series from a failing reader; want 0", n)
	}
}

// informerReader is the manager's cache as the collector sees it: an
// informer per kind, and lists that fail, so a test fails if the
// Collaborators are listed rather than read from the informer's store.
type informerReader struct {
	cache.Informers
	failingReader
	store toolscache.SharedIndexInformer
}

func (r informerReader) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return r.store, nil
}

// TestStatusCollectorReadsTheInformerStore: from the manager's cache the
// Collaborators are read in place, and publish what a list would.
func TestStatusCollectorReadsTheInformerStore(t *testing.T) {
	inf := toolscache.NewSharedIndexInformer(&toolscache.ListWatch{}, &collabv1alpha1.Collaborator{}, 0, toolscache.Indexers{})
	for _, name := range []string{"mia", "bob"} {
		if err := inf.GetStore().Add(&collabv1alpha1.Collaborator{
			ObjectMeta: metav1.ObjectMeta{Namespace: "trading", Name: name},
			Spec: collabv1alpha1.CollaboratorSpec{
				ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "ah"},
				AppHarbor:         &collabv1alpha1.AppHarborCollaborator{Application: "app", Email: name + "@example.com"},
			},
			Status: collabv1alpha1.CollaboratorStatus{Conditions: []metav1.Condition{
				cond(collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonAvailable),
				cond(collabv1alpha1.ConditionSynced, metav1.ConditionTrue, collabv1alpha1.ReasonReconcileSuccess),
			}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := `
# HELP collab_status_condition The conditions of Collaborators, ProviderConfigs, ClusterProviderConfigs and AccessPolicies as last written to their status: 1 for each condition an object has, by kind, namespace, name, provider, condition, status and reason.
# TYPE collab_status_condition gauge
collab_status_condition{condition="Ready",kind="Collaborator",name="bob",namespace="trading",provider="AppHarbor",reason="Available",status="True"} 1
collab_status_condition{condition="Synced",kind="Collaborator",name="bob",namespace="trading",provider="AppHarbor",reason="ReconcileSuccess",status="True"} 1
collab_status_condition{condition="Ready",kind="Collaborator",name="mia",namespace="trading",provider="AppHarbor",reason="Available",status="True"} 1
collab_status_condition{condition="Synced",kind="Collaborator",name="mia",namespace="trading",provider="AppHarbor",reason="ReconcileSuccess",status="True"} 1
`
	c := &StatusCollector{Reader: informerReader{store: inf}, Log: logr.Discard()}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), StatusConditionName); err != nil {
		t.Error(err)
	}
}
