package grant_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/grant"
)

var epoch = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func qc(ns, name string, age time.Duration, user string, write bool) collabv1alpha1.Collaborator {
	c := collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), CreationTimestamp: metav1.NewTime(epoch.Add(-age)),
	}}
	c.Spec.ProviderConfigRef.Name = "qc"
	c.Spec.QuantConnect = &collabv1alpha1.QuantConnectCollaborator{ProjectID: 7, UserID: user, Write: write}
	return c
}

// One grant is one person on one target through one credentials object;
// the member is compared as the providers compare it.
func TestKey(t *testing.T) {
	base := qc("team", "a", 0, "Mia", true)
	tests := map[string]struct {
		other collabv1alpha1.Collaborator
		same  bool
	}{
		"renamed, other access":      {other: qc("team", "b", 0, "Mia", false), same: true},
		"member in another case":     {other: qc("team", "b", 0, "mia", true), same: true},
		"another member":             {other: qc("team", "b", 0, "noah", true)},
		"another namespace's config": {other: qc("other", "a", 0, "Mia", true)},
		"another project": {other: func() collabv1alpha1.Collaborator {
			c := qc("team", "b", 0, "Mia", true)
			c.Spec.QuantConnect.ProjectID = 8
			return c
		}()},
		"another ProviderConfig name": {other: func() collabv1alpha1.Collaborator {
			c := qc("team", "b", 0, "Mia", true)
			c.Spec.ProviderConfigRef.Name = "qc2"
			return c
		}()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := grant.Key(&base) == grant.Key(&tc.other); got != tc.same {
				t.Errorf("same grant = %v, want %v", got, tc.same)
			}
		})
	}
}

// The owner is the oldest live declaration; being deleted or expired
// makes a declaration not live.
func TestOwner(t *testing.T) {
	now := epoch
	deleting := qc("team", "old", 3*time.Hour, "mia", true)
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	deleting.Finalizers = []string{collabv1alpha1.Finalizer}
	expired := qc("team", "exp", 2*time.Hour, "mia", true)
	expired.Spec.ExpiresAt = &metav1.Time{Time: now.Add(-time.Minute)}
	tests := map[string]struct {
		decl grant.Declarations
		want string
	}{
		"oldest wins":                 {decl: grant.Declarations{qc("team", "new", time.Minute, "mia", true), qc("team", "old", time.Hour, "mia", true)}, want: "old"},
		"same age: by name":           {decl: grant.Declarations{qc("team", "b", time.Hour, "mia", true), qc("team", "a", time.Hour, "mia", true)}, want: "a"},
		"a deleting owner hands over": {decl: grant.Declarations{deleting, qc("team", "new", time.Minute, "mia", true)}, want: "new"},
		"an expired owner hands over": {decl: grant.Declarations{expired, qc("team", "new", time.Minute, "mia", true)}, want: "new"},
		"nobody live":                 {decl: grant.Declarations{deleting, expired}},
		"a single declaration owns":   {decl: grant.Declarations{qc("team", "only", time.Minute, "mia", true)}, want: "only"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := ""
			if o := tc.decl.Owner(now); o != nil {
				got = o.Name
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("owner (-want +got):\n%s", diff)
			}
		})
	}
}

// Agreement is about access only.
func TestAgree(t *testing.T) {
	a, b, c := qc("t", "a", 0, "mia", true), qc("t", "b", 0, "mia", true), qc("t", "c", 0, "mia", false)
	live := qc("t", "d", 0, "mia", true)
	live.Spec.QuantConnect.LiveControl = true
	tests := map[string]struct {
		x, y collabv1alpha1.Collaborator
		want bool
	}{
		"same access":  {x: a, y: b, want: true},
		"read, write":  {x: a, y: c},
		"live control": {x: a, y: live},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := grant.Agree(&tc.x.Spec, &tc.y.Spec); got != tc.want {
				t.Errorf("Agree = %v, want %v", got, tc.want)
			}
		})
	}
}
