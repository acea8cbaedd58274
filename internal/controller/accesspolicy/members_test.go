package accesspolicy

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// The owner and the credentials' own account are never unmanaged, even
// when no Collaborator declares them and they are not exempt; exempt
// matches QuantConnect user ids and AppHarbor user names or ids, never a
// display name. An AppHarbor administrator is listed with a note and a
// member declared elsewhere is flagged; neither is removable, and only the
// administrator is undeclared.
func TestSortMembers(t *testing.T) {
	qc := &collabv1alpha1.AccessPolicy{Spec: collabv1alpha1.AccessPolicySpec{
		QuantConnect: &collabv1alpha1.QuantConnectPolicyTarget{ProjectID: 1},
		Mode:         collabv1alpha1.AccessPolicyEnforce, Exempt: []string{"CI-Bot", "300001"},
	}}
	ah := &collabv1alpha1.AccessPolicy{Spec: collabv1alpha1.AccessPolicySpec{
		AppHarbor: &collabv1alpha1.AppHarborPolicyTarget{Application: "app"},
		Mode:      collabv1alpha1.AccessPolicyEnforce, Exempt: []string{"robot", "u-42"},
	}}
	tests := map[string]struct {
		policy     *collabv1alpha1.AccessPolicy
		members    []provider.Member
		declared   []string
		elsewhere  []string
		managed    int
		unmanaged  []collabv1alpha1.UnmanagedMember
		removable  []string
		undeclared []string
	}{
		"owner not self, unlisted": {
			policy:     qc,
			members:    []provider.Member{{ID: "boss", Label: "boss", Owner: true}, {ID: "lee", Label: "lee", Access: "read"}},
			unmanaged:  []collabv1alpha1.UnmanagedMember{{Member: "lee", Access: "read"}},
			removable:  []string{"lee"},
			undeclared: []string{"lee"},
		},
		"self not owner": {
			policy:  qc,
			members: []provider.Member{{ID: "api-user", Label: "api-user", Self: true}},
		},
		"declared case-insensitively, exempt by user id or uid": {
			policy: qc,
			members: []provider.Member{
				{ID: "Mia-AI", Label: "Mia-AI"}, {ID: "ci-bot", Label: "ci-bot"}, {ID: "kim", Label: "kim", UserID: "300001"},
			},
			declared: []string{"mia-ai"},
			managed:  1,
		},
		"QuantConnect display name never exempts": {
			policy:     qc,
			members:    []provider.Member{{ID: "mallory", Label: "mallory", UserID: "7", Name: "CI-Bot", Access: "write"}},
			unmanaged:  []collabv1alpha1.UnmanagedMember{{Member: "mallory", Access: "write"}},
			removable:  []string{"mallory"},
			undeclared: []string{"mallory"},
		},
		"AppHarbor: by collaborator id, exempt by user name or user id": {
			policy: ah,
			members: []provider.Member{
				{ID: "c1", Label: "bob", UserID: "u-1"}, {ID: "c2", Label: "robot", UserID: "u-2"},
				{ID: "c3", Label: "x", UserID: "u-42"}, {ID: "c4", Label: "carol", UserID: "u-4", Access: "collaborator"},
			},
			declared:   []string{"c1"},
			managed:    1,
			unmanaged:  []collabv1alpha1.UnmanagedMember{{Member: "carol", Access: "collaborator"}},
			removable:  []string{"carol"},
			undeclared: []string{"carol"},
		},
		"AppHarbor administrator: listed with a note, never removable": {
			policy: ah,
			members: []provider.Member{
				{ID: "c5", Label: "dave", Access: "administrator"}, {ID: "c4", Label: "carol", Access: "collaborator"},
				{ID: "c1", Label: "bob", Access: "administrator"},
			},
			declared: []string{"c1"},
			managed:  1,
			unmanaged: []collabv1alpha1.UnmanagedMember{
				{Member: "carol", Access: "collaborator"}, {Member: "dave", Access: "administrator", Note: adminNote},
			},
			removable:  []string{"carol"},
			undeclared: []string{"carol", "dave"},
		},
		"declared elsewhere: flagged, neither removable nor undeclared": {
			policy:     qc,
			members:    []provider.Member{{ID: "Noah", Label: "Noah", Access: "read"}, {ID: "kim", Label: "kim", Access: "read"}},
			elsewhere:  []string{"noah"},
			unmanaged:  []collabv1alpha1.UnmanagedMember{{Member: "Noah", Access: "read", DeclaredElsewhere: true}, {Member: "kim", Access: "read"}},
			removable:  []string{"kim"},
			undeclared: []string{"kim"},
		},
		"AppHarbor administrator declared elsewhere: not undeclared": {
			policy:    ah,
			members:   []provider.Member{{ID: "c5", Label: "dave", Access: "administrator"}},
			elsewhere: []string{"c5"},
			unmanaged: []collabv1alpha1.UnmanagedMember{{Member: "dave", Access: "administrator", Note: adminNote, DeclaredElsewhere: true}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := declared{ids: set(tc.declared...), elsewhere: set(tc.elsewhere...)}
			got := sortMembers(tc.policy, tc.members, d)
			if got.managed != tc.managed {
				t.Errorf("managed = %d, want %d", got.managed, tc.managed)
			}
			if diff := cmp.Diff(tc.unmanaged, unmanagedStatus(got.unmanaged), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("status.unmanaged (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.removable, names(got.removable()), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("removable (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.undeclared, names(got.undeclared()), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("undeclared (-want +got):\n%s", diff)
			}
		})
	}
}

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func names(fs []finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, memberName(f.Member))
	}
	return out
}

const (
	qcURL   = "https://www.quantconnect.com/api/v2"
	ahURL   = "https://appharbor.com"
	project = 23456789
	app     = "my-app"
)

func qcPC(ns, name, baseURL string) *collabv1alpha1.ProviderConfig {
	return &collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: collabv1alpha1.ProviderConfigSpec{
		QuantConnect: &collabv1alpha1.QuantConnectConfig{BaseURL: baseURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "creds"}},
	}}
}

// ahPC is an AppHarbor ProviderConfig "ah".
func ahPC(ns, baseURL string) *collabv1alpha1.ProviderConfig {
	return &collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ah"}, Spec: collabv1alpha1.ProviderConfigSpec{
		AppHarbor: &collabv1alpha1.AppHarborConfig{BaseURL: baseURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "creds"}},
	}}
}

func qcCollab(ns, name, pc string, projectID int64, user string) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: collabv1alpha1.CollaboratorSpec{
		ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: pc},
		QuantConnect:      &collabv1alpha1.QuantConnectCollaborator{ProjectID: projectID, UserID: user},
	}}
}

// ahCollab is an AppHarbor Collaborator of ProviderConfig "ah".
func ahCollab(ns, name string, annotations map[string]string) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations}, Spec: collabv1alpha1.CollaboratorSpec{
		ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "ah"},
		AppHarbor:         &collabv1alpha1.AppHarborCollaborator{Application: app, Email: name + "@example.com"},
	}}
}

// with applies changes to a Collaborator, for the table below.
func with(c *collabv1alpha1.Collaborator, change func(*collabv1alpha1.Collaborator)) *collabv1alpha1.Collaborator {
	change(c)
	return c
}

// newClient is a fake client with the indexes the reconciler queries, as
// the manager's cache has them.
func newClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	if err := collabv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...)
	for _, ix := range Indexes() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	return b.Build()
}

// A policy's own Collaborators (its namespace and ProviderConfig) declare
// their members; live ones of another namespace or ProviderConfig on the
// same provider host declare theirs elsewhere, and one whose
// ProviderConfig cannot be read counts as on the same host. An AppHarbor
// Collaborator without an id, or with a pending-create mark even beside an
// old id, may be creating a member now, unless it is stalled.
func TestDeclaredMembers(t *testing.T) {
	qcPolicy := &collabv1alpha1.AccessPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "p"}, Spec: collabv1alpha1.AccessPolicySpec{
		ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "qc"},
		QuantConnect:      &collabv1alpha1.QuantConnectPolicyTarget{ProjectID: project},
	}}
	ahPolicy := &collabv1alpha1.AccessPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "p"}, Spec: collabv1alpha1.AccessPolicySpec{
		ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "ah"},
		AppHarbor:         &collabv1alpha1.AppHarborPolicyTarget{Application: app},
	}}
	past := metav1.NewTime(time.Now().Add(-time.Hour))
	stalled := []metav1.Condition{{Type: collabv1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: "X", LastTransitionTime: past}}
	pending := map[string]string{collabv1alpha1.PendingCreateAnnotation: "2026-01-01T00:00:00Z replacing c-old"}
	tests := map[string]struct {
		policy *collabv1alpha1.AccessPolicy
		objs   []client.Object
		want   declared
	}{
		"own QuantConnect Collaborator, case-folded; another project is not the target": {
			policy: qcPolicy,
			objs:   []client.Object{qcPC("team", "qc", qcURL), qcCollab("team", "mia", "qc", project, "Mia-AI"), qcCollab("team", "x", "qc", 1, "kim")},
			want:   declared{ids: set("mia-ai")},
		},
		"another namespace, and another ProviderConfig, on the same host": {
			policy: qcPolicy,
			objs: []client.Object{
				qcPC("team", "qc", qcURL), qcPC("team", "qc2", "https://WWW.quantconnect.com:443/api/v2"), qcPC("other", "qc", qcURL),
				qcCollab("other", "noah", "qc", project, "noah"), qcCollab("team", "lee", "qc2", project, "lee-q"),
			},
			want: declared{ids: set(), elsewhere: set("noah", "lee-q")},
		},
		"another host declares nothing here": {
			policy: qcPolicy,
			objs:   []client.Object{qcPC("team", "qc", qcURL), qcPC("other", "qc", "https://qc.example.com/api/v2"), qcCollab("other", "noah", "qc", project, "noah")},
			want:   declared{ids: set(), elsewhere: set()},
		},
		"an unreadable ProviderConfig elsewhere counts as the same host": {
			policy: qcPolicy,
			objs:   []client.Object{qcPC("team", "qc", qcURL), qcCollab("other", "noah", "qc", project, "noah")},
			want:   declared{ids: set(), elsewhere: set("noah")},
		},
		"being deleted or expired, here or elsewhere, declares nothing": {
			policy: qcPolicy,
			objs: []client.Object{
				qcPC("team", "qc", qcURL), qcPC("other", "qc", qcURL),
				with(qcCollab("other", "noah", "qc", project, "noah"), func(c *collabv1alpha1.Collaborator) {
					c.Finalizers, c.DeletionTimestamp = []string{collabv1alpha1.Finalizer}, &past
				}),
				with(qcCollab("team", "lee", "qc", project, "lee-q"), func(c *collabv1alpha1.Collaborator) { c.Spec.ExpiresAt = &past }),
			},
			want: declared{ids: set(), elsewhere: set()},
		},
		"AppHarbor: by external id; without one, pending unless stalled": {
			policy: ahPolicy,
			objs: []client.Object{
				ahPC("team", ahURL),
				ahCollab("team", "bob", map[string]string{collabv1alpha1.ExternalIDAnnotation: "c1"}),
				ahCollab("team", "carol", nil),
				with(ahCollab("team", "dave", nil), func(c *collabv1alpha1.Collaborator) { c.Status.Conditions = stalled }),
			},
			want: declared{ids: set("c1"), pendingIDs: 1},
		},
		"AppHarbor: a pending-create mark beside an old id is pending": {
			policy: ahPolicy,
			objs: []client.Object{
				ahPC("team", ahURL),
				ahCollab("team", "bob", map[string]string{collabv1alpha1.ExternalIDAnnotation: "c-old", collabv1alpha1.PendingCreateAnnotation: pending[collabv1alpha1.PendingCreateAnnotation]}),
			},
			want: declared{ids: set("c-old"), pendingIDs: 1},
		},
		"AppHarbor elsewhere: by external id, and pending counted apart": {
			policy: ahPolicy,
			objs: []client.Object{
				ahPC("team", ahURL), ahPC("other", ahURL+"/"),
				ahCollab("other", "bob", map[string]string{collabv1alpha1.ExternalIDAnnotation: "c1"}),
				ahCollab("other", "carol", pending),
			},
			want: declared{ids: set(), elsewhere: set("c1"), pendingElsewhere: 1},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pc := &collabv1alpha1.ProviderConfig{}
			cl := newClient(t, tc.objs...)
			if err := cl.Get(context.Background(), client.ObjectKey{Namespace: "team", Name: tc.policy.Spec.ProviderConfigRef.Name}, pc); err != nil {
				t.Fatal(err)
			}
			ep, _ := pc.Spec.Endpoint()
			got, err := declaredMembers(context.Background(), cl, tc.policy, hostKey(ep.BaseURL))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(declared{}), cmpopts.EquateEmpty(),
				cmpopts.IgnoreFields(declared{}, "nextExpiry")); diff != "" {
				t.Errorf("declared (-want +got):\n%s", diff)
			}
		})
	}
}

// stubLister answers ListMembers with a snapshot taken at a set time, and
// records whether each call asked for a fresh read.
type stubLister struct {
	at    time.Time
	fresh []bool
}

func (l *stubLister) ListMembers(ctx context.Context, _ provider.Target) ([]provider.Member, time.Time, error) {
	l.fresh = append(l.fresh, provider.FreshRead(ctx))
	if provider.FreshRead(ctx) {
		return nil, time.Now(), nil
	}
	return nil, l.at, nil
}

func (l *stubLister) RemoveMember(context.Context, provider.Target, provider.Member) error {
	return nil
}

// A policy never judges from a snapshot older than itself or than its
// generation: a generation its status has not described reads afresh at
// once, and a snapshot from before (or within the second of) the policy's
// creation is read again, afresh. Otherwise the shared snapshot serves.
func TestListMembersReadsAfterThePolicy(t *testing.T) {
	created := time.Now().Add(-time.Minute).Truncate(time.Second)
	tests := map[string]struct {
		observed, generation int64
		snapshot             time.Time
		want                 []bool
	}{
		"new policy":                            {observed: 0, generation: 1, snapshot: created.Add(time.Hour), want: []bool{true}},
		"new generation":                        {observed: 1, generation: 2, snapshot: created.Add(time.Hour), want: []bool{true}},
		"snapshot older than the policy":        {observed: 1, generation: 1, snapshot: created.Add(-time.Minute), want: []bool{false, true}},
		"snapshot within its creation's second": {observed: 1, generation: 1, snapshot: created.Add(500 * time.Millisecond), want: []bool{false, true}},
		"snapshot newer than the policy":        {observed: 1, generation: 1, snapshot: created.Add(2 * time.Second), want: []bool{false}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := &collabv1alpha1.AccessPolicy{ObjectMeta: metav1.ObjectMeta{Generation: tc.generation, CreationTimestamp: metav1.NewTime(created)}}
			p.Status.ObservedGeneration = tc.observed
			l := &stubLister{at: tc.snapshot}
			if _, _, err := listMembers(context.Background(), p, l, provider.Target{}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, l.fresh); diff != "" {
				t.Errorf("fresh reads (-want +got):\n%s", diff)
			}
		})
	}
}
