package controller

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// qcReads counts QuantConnect's project reads and credential checks.
func qcCalls(f *fixture, suffix string) int {
	return f.qc.CountWhere(func(r simkit.RequestRecord) bool { return strings.HasSuffix(r.Path, suffix) })
}

// waitFor polls until d has passed: a measurement window, not a wait for
// the system to settle.
func waitFor(t *testing.T, d time.Duration) {
	t.Helper()
	start := time.Now()
	eventually(t, d+5*time.Second, func() error {
		if since := time.Since(start); since < d {
			return fmt.Errorf("window still open (%s of %s)", since, d)
		}
		return nil
	})
}

// Collaborators of one project created at different times still share one
// read of it per sync interval, and their resyncs write nothing.
func TestProjectReadOncePerInterval(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	const interval = time.Second
	f.quantConnectConfig(interval)
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	f.waitReady("mia")
	// Well after the first, so that the two would read apart if each kept
	// its own schedule.
	waitFor(t, 400*time.Millisecond)
	f.create(qcCollaborator("noah", "qc", "noah", true, false))
	f.waitReady("noah")
	rvs := map[string]string{"mia": f.collaborator("mia").ResourceVersion, "noah": f.collaborator("noah").ResourceVersion}

	reads := qcCalls(f, "/collaboration/read")
	const intervals = 4
	waitFor(t, intervals*interval)
	got := qcCalls(f, "/collaboration/read") - reads
	// One read per interval, plus one for a window that cuts an interval.
	if got < intervals-1 || got > intervals+1 {
		t.Errorf("%d project reads in %d intervals with two Collaborators; want about %d (one per interval)", got, intervals, intervals)
	}
	for name, rv := range rvs {
		c := f.collaborator(name)
		if !meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionReady) {
			t.Errorf("%s lost Ready: %+v", name, c.Status.Conditions)
		}
		if c.ResourceVersion != rv {
			t.Errorf("%s was written during steady state (resourceVersion %s -> %s)", name, rv, c.ResourceVersion)
		}
	}
}

// Credentials are read once per change of the Secret, not on every pass,
// and /authenticate runs once per interval, not on every Collaborator
// event.
func TestSecretReadOncePerChange(t *testing.T) {
	f := newFixture(t)
	var gets atomic.Int64
	startManager(t, f.ns, f.reg, managerOptions{secretGets: &gets})
	f.quantConnectConfig(time.Hour)
	for _, name := range []string{"mia", "noah"} {
		f.create(qcCollaborator(name, "qc", map[string]string{"mia": "mia-ai", "noah": "noah"}[name], false, false))
	}
	f.waitReady("mia")
	f.waitReady("noah")
	f.waitProviderConfigReady()
	auths := qcCalls(f, "/authenticate")
	if auths != 1 {
		t.Errorf("%d credential checks while two Collaborators were created; want 1", auths)
	}

	// Many passes with an unchanged Secret read it no more.
	before := gets.Load()
	for _, name := range []string{"mia", "noah"} {
		c := f.collaborator(name)
		f.update(c, func() { c.Spec.QuantConnect.Write = true })
	}
	eventually(t, 20*time.Second, func() error {
		for _, name := range []string{"mia", "noah"} {
			if m, ok := qcMember(f, map[string]string{"mia": "mia-ai", "noah": "noah"}[name]); !ok || !m.Write {
				return fmt.Errorf("%s not updated yet", name)
			}
		}
		return nil
	})
	if n := gets.Load() - before; n != 0 {
		t.Errorf("the unchanged Secret was read %d times", n)
	}

	// A change is read once by each reconciler that uses it, not once per
	// Collaborator pass.
	before = gets.Load()
	secret := f.secret("qc-creds", nil)
	f.update(secret, func() { secret.Data["note"] = []byte("rotated") })
	f.waitProviderConfigReady()
	eventually(t, 10*time.Second, func() error {
		if qcCalls(f, "/authenticate") < auths+1 {
			return fmt.Errorf("the changed credentials were not checked")
		}
		return nil
	})
	for _, name := range []string{"mia", "noah"} {
		f.waitReady(name)
	}
	if n := gets.Load() - before; n < 1 || n > 2 {
		t.Errorf("the changed Secret was read %d times; want once by each of the two reconcilers at most", n)
	}
}
