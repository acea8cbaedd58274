package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// The expiry notice end to end (API.md, "kubectl plugin"): with a 1m
// expiryNotice, a Collaborator expiring in 1m and a few seconds gets one
// ExpiringSoon Event, not before the notice is due, naming the time; a
// restarted manager does not send it again; a ProviderConfig with the
// notice off sends none.
func TestExpiryNoticeEvent(t *testing.T) {
	tests := map[string]struct {
		notice time.Duration
		want   int
	}{
		"a 1m notice": {notice: time.Minute, want: 1},
		"notice off":  {notice: 0, want: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			stop := startManager(t, f.ns, f.reg, managerOptions{})
			f.quantConnectConfig(time.Hour)
			pc := &collabv1alpha1.ProviderConfig{}
			must(t, f.get("qc", pc))
			f.update(pc, func() { pc.Spec.ExpiryNotice = &metav1.Duration{Duration: tc.notice} })
			c := qcCollaborator("mia", "qc", "mia-ai", false, false)
			expiresAt := metav1.NewTime(time.Now().Add(time.Minute + 4*time.Second).Truncate(time.Second))
			c.Spec.ExpiresAt = &expiresAt
			f.create(c)
			f.waitReady("mia")
			if tc.want > 0 {
				f.waitEvents("mia", "ExpiringSoon")
			}

			// A restart, then a pass that surely ran: the record in status
			// keeps the notice from being sent again.
			stop()
			startManager(t, f.ns, f.reg, managerOptions{})
			c = f.collaborator("mia")
			f.update(c, func() {
				c.Annotations = map[string]string{collabv1alpha1.ReconcileRequestedAtAnnotation: "after-restart"}
			})
			eventually(t, 10*time.Second, func() error {
				if got := f.collaborator("mia").Status.LastHandledReconcileAt; got != "after-restart" {
					return fmt.Errorf("lastHandledReconcileAt = %q", got)
				}
				return nil
			})

			notices := expiryNotices(t, f)
			sent := 0
			for _, e := range notices {
				// The recorder folds a repeat into the first Event's series.
				sent++
				if e.Series != nil && e.Series.Count > 1 {
					sent += int(e.Series.Count) - 1
				}
			}
			if sent != tc.want {
				t.Fatalf("%d ExpiringSoon Events; want %d", sent, tc.want)
			}
			for _, e := range notices {
				if due := expiresAt.Add(-tc.notice); e.EventTime.Time.Before(due.Add(-time.Second)) {
					t.Errorf("ExpiringSoon sent at %s, before the notice was due at %s", e.EventTime.Format(time.RFC3339Nano), due.Format(time.RFC3339))
				}
				if err := containsAll(e.Note, expiresAt.UTC().Format(time.RFC3339), "kubectl collab renew mia"); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// expiryNotices lists the ExpiringSoon Events about Collaborator mia.
func expiryNotices(t *testing.T, f *fixture) []eventsv1.Event {
	t.Helper()
	list := &eventsv1.EventList{}
	must(t, k8s.List(context.Background(), list, client.InNamespace(f.ns)))
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == "mia" && e.Reason == "ExpiringSoon" {
			out = append(out, e)
		}
	}
	return out
}
