package controller

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// kstatusOf computes what Flux's health checks see for a Collaborator.
func kstatusOf(t *testing.T, c *collabv1alpha1.Collaborator) status.Status {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: m})
	if err != nil {
		t.Fatalf("kstatus: %v", err)
	}
	return res.Status
}

// Flux reads our status with kstatus: Current when Ready, InProgress right
// after a spec change, Failed when Stalled. The objects are the
// controller's own, read back from the API server.
func TestKstatusFollowsConditions(t *testing.T) {
	f := newFixture(t)
	stop := startManager(t, f.ns, f.reg, managerOptions{slowRetry: time.Hour})
	f.quantConnectConfig(time.Minute)
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))

	c := f.waitReady("mia")
	if got := kstatusOf(t, c); got != status.CurrentStatus {
		t.Errorf("Ready collaborator: kstatus %s, want Current", got)
	}

	// Stop the manager so the spec change is seen before any reconcile.
	stop()
	f.update(c, func() { c.Spec.QuantConnect.Write = true })
	if got := kstatusOf(t, f.collaborator("mia")); got != status.InProgressStatus {
		t.Errorf("right after a spec change: kstatus %s, want InProgress", got)
	}

	f.qc.FailNext(1000, http.StatusForbidden, "")
	startManager(t, f.ns, f.reg, managerOptions{slowRetry: time.Hour})
	eventually(t, 20*time.Second, func() error {
		if got := kstatusOf(t, f.collaborator("mia")); got != status.FailedStatus {
			return fmt.Errorf("stalled collaborator: kstatus %s, want Failed", got)
		}
		return nil
	})
}
