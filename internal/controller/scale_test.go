package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/quantconnect"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// Collaborators of one project share the project's collaborator list
// instead of each reading it: the number of reads stays well below the
// number of Collaborators.
func TestCollaboratorsShareProjectReads(t *testing.T) {
	const users, projects = 40, 2
	f := newFixture(t)
	f.reg.Register(collabv1alpha1.ProviderQuantConnect, quantconnect.NewFactory(
		httpapi.WithTimeout(2*time.Second), httpapi.WithCacheTTL(5*time.Second)))
	for p := 1; p < projects; p++ {
		must(t, f.qc.AddProject(qcProject+int64(p), qcOwner))
	}
	for i := range users {
		must(t, f.qc.AddUser(qcsim.User{UID: int64(300000 + i), PublicID: fmt.Sprintf("user-%d", i)}))
	}
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	for i := range users {
		c := qcCollaborator(fmt.Sprintf("user-%d", i), "qc", fmt.Sprintf("user-%d", i), i%2 == 0, false)
		c.Spec.QuantConnect.ProjectID = qcProject + int64(i%projects)
		f.create(c)
	}
	for i := range users {
		f.waitReady(fmt.Sprintf("user-%d", i))
	}
	reads := f.qc.CountWhere(func(r simkit.RequestRecord) bool { return strings.HasSuffix(r.Path, "/collaboration/read") })
	// Unshared, each Collaborator reads before and after its create: 80.
	if reads >= users/2 {
		t.Errorf("%d project reads for %d collaborators over %d projects; reads are not shared", reads, users, projects)
	}
	t.Logf("%d collaborators over %d projects: %d reads, %d requests in all", users, projects, reads, f.qc.RequestCount())
}

// Stopping the manager in the middle of a batch of creates and starting a
// new one leaves exactly one collaborator per object at the provider.
func TestRestartDuringCreates(t *testing.T) {
	const users = 24
	f := newFixture(t)
	for i := range users {
		must(t, f.qc.AddUser(qcsim.User{UID: int64(400000 + i), PublicID: fmt.Sprintf("r-%d", i)}))
	}
	// Slow answers keep creates in flight when the manager stops.
	f.qc.DelayNext(1000, 30*time.Millisecond)
	stop := startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	for i := range users {
		f.create(qcCollaborator(fmt.Sprintf("r-%d", i), "qc", fmt.Sprintf("r-%d", i), true, false))
	}
	eventually(t, 20*time.Second, func() error {
		if n := f.qc.CountWhere(func(r simkit.RequestRecord) bool { return strings.HasSuffix(r.Path, "/create") }); n < users/4 {
			return fmt.Errorf("only %d creates so far", n)
		}
		return nil
	})
	stop()
	f.qc.ClearFaults()
	startManager(t, f.ns, f.reg, managerOptions{})
	for i := range users {
		f.waitReady(fmt.Sprintf("r-%d", i))
	}
	list, _ := f.qc.Collaborators(qcProject)
	seen := map[string]int{}
	for _, c := range list {
		seen[c.PublicID]++
	}
	for i := range users {
		if n := seen[fmt.Sprintf("r-%d", i)]; n != 1 {
			t.Errorf("r-%d is at the provider %d times, want 1", i, n)
		}
	}
}
