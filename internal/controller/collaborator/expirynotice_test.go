package collaborator_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/collaborator"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
)

// The expiry notice (API.md, "kubectl plugin"): one ExpiringSoon Event per
// Collaborator and expiresAt value, once the expiry is nearer than the
// ProviderConfig's expiryNotice (default 168h, 0 off); none after a
// restart, which reads status.expiryNotice back; a new expiresAt gets its
// own notice. Until the notice is due, the pass comes back at that moment.
func TestExpiryNotice(t *testing.T) {
	tests := map[string]struct {
		// notice is the ProviderConfig's expiryNotice; nil leaves the default.
		notice    *time.Duration
		expiresIn time.Duration
		observe   bool
		// want is the number of ExpiringSoon Events after every pass.
		want int
		// backBefore, when set, is how soon the first pass must ask to come
		// back at the latest: when the notice falls due.
		backBefore time.Duration
	}{
		"within the default week":           {expiresIn: 72 * time.Hour, want: 1},
		"beyond the default week":           {expiresIn: 10 * 24 * time.Hour, backBefore: 72*time.Hour + time.Minute},
		"within a one-hour notice":          {notice: ptr(time.Hour), expiresIn: 30 * time.Minute, want: 1},
		"beyond a one-hour notice":          {notice: ptr(time.Hour), expiresIn: 3 * time.Hour, backBefore: 2*time.Hour + time.Minute},
		"notice off":                        {notice: ptr(time.Duration(0)), expiresIn: time.Hour},
		"Observe never expires anyone":      {expiresIn: time.Hour, observe: true},
		"already expired: Expired, no more": {expiresIn: -time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			if tc.notice != nil {
				pc := ct.ProviderConfig(collabv1alpha1.ProviderQuantConnect)
				if !e.Get(pc) {
					t.Fatal("no ProviderConfig")
				}
				e.Edit(pc, func() { pc.Spec.ExpiryNotice = &metav1.Duration{Duration: *tc.notice} })
			}
			c := ct.Collaborator(collabv1alpha1.ProviderQuantConnect, "person", "person")
			expiring(c, tc.expiresIn)
			if tc.observe {
				c.Spec.ManagementPolicy = collabv1alpha1.ManagementObserve
			}
			e.Create(c)
			first := e.Reconcile(r, c)
			if first.Err != nil {
				t.Fatalf("pass failed: %v", first.Err)
			}
			if tc.backBefore > 0 && (first.Result.RequeueAfter == 0 || first.Result.RequeueAfter > tc.backBefore) {
				t.Errorf("back after %s; want at most %s, when the notice is due", first.Result.RequeueAfter, tc.backBefore)
			}
			e.Run(r, c, 2)
			// A restarted manager: a new reconciler, the same objects.
			restarted := &collaborator.Reconciler{Client: e.Client, Connector: e.Connector, Recorder: e.Recorder}
			e.Run(restarted, c, 2)
			if diff := cmp.Diff(tc.want, noticesOf(e, c)); diff != "" {
				t.Errorf("ExpiringSoon Events (-want +got):\n%s", diff)
			}
			e.Get(c)
			if tc.want > 0 {
				if n := c.Status.ExpiryNotice; n == nil || !n.ExpiresAt.Equal(c.Spec.ExpiresAt) {
					t.Errorf("status.expiryNotice = %+v; want the notice for %s recorded", n, c.Spec.ExpiresAt)
				}
			}
		})
	}
}

// A new expiresAt within the notice gets its own notice; removing
// expiresAt clears the record.
func TestExpiryNoticePerValue(t *testing.T) {
	e, r := newEnv(t)
	c := ct.Collaborator(collabv1alpha1.ProviderQuantConnect, "person", "person")
	expiring(c, 48*time.Hour)
	e.Create(c)
	e.Run(r, c, 2)
	e.Edit(c, func() { expiring(c, 96*time.Hour) })
	e.Run(r, c, 2)
	if got := noticesOf(e, c); got != 2 {
		t.Errorf("%d ExpiringSoon Events; want 2, one per expiresAt value", got)
	}
	e.Edit(c, func() { c.Spec.ExpiresAt = nil })
	e.Run(r, c, 2)
	e.Get(c)
	if c.Status.ExpiryNotice != nil {
		t.Errorf("status.expiryNotice = %+v after expiresAt was removed; want none", c.Status.ExpiryNotice)
	}
}

// noticesOf counts the ExpiringSoon Events about c.
func noticesOf(e *ct.Env, c *collabv1alpha1.Collaborator) int {
	reasons := e.Recorder.Reasons(c)
	return len(slices.DeleteFunc(reasons, func(r string) bool { return r != "ExpiringSoon" }))
}

func ptr[T any](v T) *T { return &v }
