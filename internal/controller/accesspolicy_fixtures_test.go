package controller

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
)

// qcPolicy is an AccessPolicy over the fixture's QuantConnect project.
func qcPolicy(name string, mode collabv1alpha1.AccessPolicyMode, maxRemovals int32, exempt ...string) *collabv1alpha1.AccessPolicy {
	return &collabv1alpha1.AccessPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: collabv1alpha1.AccessPolicySpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "qc"},
			QuantConnect:      &collabv1alpha1.QuantConnectPolicyTarget{ProjectID: qcProject},
			Mode:              mode, Exempt: exempt, MaxRemovals: ptr.To(maxRemovals),
		},
	}
}

// ahPolicy is an AccessPolicy over the fixture's AppHarbor application.
func ahPolicy(name string, mode collabv1alpha1.AccessPolicyMode, exempt ...string) *collabv1alpha1.AccessPolicy {
	return &collabv1alpha1.AccessPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: collabv1alpha1.AccessPolicySpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "ah"},
			AppHarbor:         &collabv1alpha1.AppHarborPolicyTarget{Application: ahApp},
			Mode:              mode, Exempt: exempt,
		},
	}
}

// addQCUsers adds hand-made QuantConnect accounts to the simulator.
func (f *fixture) addQCUsers(ids ...string) {
	f.t.Helper()
	for i, id := range ids {
		must(f.t, f.qc.AddUser(qcsim.User{UID: int64(300000 + i), PublicID: id, Name: strings.ToUpper(id)}))
	}
}

// qcMembers lists the project's members at the simulator, sorted.
func (f *fixture) qcMembers() []string {
	list, _ := f.qc.Collaborators(qcProject)
	out := make([]string, 0, len(list))
	for _, c := range list {
		out = append(out, c.PublicID)
	}
	sort.Strings(out)
	return out
}

// waitPolicy waits until the policy's Ready condition has the status and
// reason at its current generation, and returns the policy.
func (f *fixture) waitPolicy(name string, status metav1.ConditionStatus, reason string) *collabv1alpha1.AccessPolicy {
	f.t.Helper()
	p := &collabv1alpha1.AccessPolicy{}
	eventually(f.t, 20*time.Second, func() error {
		if err := f.get(name, p); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(p.Status.Conditions, collabv1alpha1.ConditionReady)
		if cond == nil || cond.Status != status || cond.Reason != reason || p.Status.ObservedGeneration != p.Generation {
			return fmt.Errorf("policy %s: want Ready=%s/%s, have %+v", name, status, reason, p.Status.Conditions)
		}
		return nil
	})
	return p
}

// unmanagedNames lists status.unmanaged as "member access" strings.
func unmanagedNames(p *collabv1alpha1.AccessPolicy) []string {
	out := make([]string, 0, len(p.Status.Unmanaged))
	for _, u := range p.Status.Unmanaged {
		out = append(out, u.Member+" "+u.Access)
	}
	return out
}

func policyMessage(p *collabv1alpha1.AccessPolicy) string {
	if c := meta.FindStatusCondition(p.Status.Conditions, collabv1alpha1.ConditionReady); c != nil {
		return c.Message
	}
	return ""
}

func equalStrings(got, want []string) error {
	if strings.Join(got, ",") != strings.Join(want, ",") {
		return fmt.Errorf("got %q, want %q", got, want)
	}
	return nil
}

// qcConfigNamed creates a QuantConnect Secret NAME-creds and ProviderConfig
// NAME on the fixture's simulator, with the owner's working token: a
// second ProviderConfig on the same provider host.
func (f *fixture) qcConfigNamed(name string) {
	f.create(f.secret(name+"-creds", map[string]string{
		collabv1alpha1.QuantConnectUserIDKey:   fmt.Sprint(qcOwnerUID),
		collabv1alpha1.QuantConnectAPITokenKey: qcToken,
	}))
	f.create(&collabv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: collabv1alpha1.ProviderConfigSpec{
			SyncInterval: &metav1.Duration{Duration: time.Hour},
			QuantConnect: &collabv1alpha1.QuantConnectConfig{
				BaseURL: f.qcURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: name + "-creds"},
			},
		},
	})
}

// checkDeclaredElsewhere checks that status.unmanaged is exactly members,
// each flagged declared elsewhere with nothing else about the Collaborator
// that declares it (the member and access come from the provider's list).
func checkDeclaredElsewhere(t *testing.T, p *collabv1alpha1.AccessPolicy, members []string) {
	t.Helper()
	want := make([]collabv1alpha1.UnmanagedMember, 0, len(members))
	for _, m := range members {
		want = append(want, collabv1alpha1.UnmanagedMember{Member: m, Access: "read", DeclaredElsewhere: true})
	}
	if diff := cmp.Diff(want, p.Status.Unmanaged); diff != "" {
		t.Errorf("status.unmanaged (-want +got):\n%s", diff)
	}
}

// checkAdministratorNote checks that status.unmanaged is exactly the one
// administrator, with a note saying why it is never removed.
func checkAdministratorNote(t *testing.T, p *collabv1alpha1.AccessPolicy, member string) {
	t.Helper()
	if len(p.Status.Unmanaged) != 1 {
		t.Fatalf("status.unmanaged = %+v, want %s alone", p.Status.Unmanaged, member)
	}
	u := p.Status.Unmanaged[0]
	if u.Member != member || u.Access != "administrator" || u.DeclaredElsewhere {
		t.Errorf("status.unmanaged[0] = %+v, want %s, administrator", u, member)
	}
	if err := containsAll(u.Note, "AppHarbor does not say", "never removed", "spec.exempt"); err != nil {
		t.Errorf("note: %v", err)
	}
}
