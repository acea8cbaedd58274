package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/quantconnect"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// BenchmarkManyCollaborators measures the scale the design aims at: a
// thousand QuantConnect Collaborators over twenty projects, from creation
// to all Ready, against a real API server. It reports the provider reads
// and requests per Collaborator, which shared project reads keep low.
//
//	go test ./internal/controller -run '^$' -bench ManyCollaborators -benchtime 1x
func BenchmarkManyCollaborators(b *testing.B) {
	const users, projects = 1000, 20
	t := &testing.T{}
	for b.Loop() {
		b.StopTimer()
		f := newFixture(t)
		// Production settings: the fixture's short cache TTL suits drift
		// tests, not a measurement of shared reads.
		f.reg.Register(collabv1alpha1.ProviderQuantConnect, quantconnect.NewFactory())
		for p := 1; p < projects; p++ {
			must(t, f.qc.AddProject(qcProject+int64(p), qcOwner))
		}
		for i := range users {
			must(t, f.qc.AddUser(qcsim.User{UID: int64(500000 + i), PublicID: fmt.Sprintf("b-%d", i)}))
		}
		stop := startManager(t, f.ns, f.reg, managerOptions{})
		f.quantConnectConfig(time.Hour)
		f.qc.ResetLog()
		b.StartTimer()

		start := time.Now()
		for i := range users {
			c := qcCollaborator(fmt.Sprintf("b-%d", i), "qc", fmt.Sprintf("b-%d", i), i%2 == 0, false)
			c.Spec.QuantConnect.ProjectID = qcProject + int64(i%projects)
			f.create(c)
		}
		for {
			list := &collabv1alpha1.CollaboratorList{}
			if err := k8s.List(context.Background(), list, client.InNamespace(f.ns)); err != nil {
				b.Fatal(err)
			}
			ready := 0
			for i := range list.Items {
				if meta.IsStatusConditionTrue(list.Items[i].Status.Conditions, collabv1alpha1.ConditionReady) {
					ready++
				}
			}
			if ready == users {
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("only %d of %d Ready after 5m", ready, users)
			}
			time.Sleep(200 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		reads := f.qc.CountWhere(func(r simkit.RequestRecord) bool { return strings.HasSuffix(r.Path, "/collaboration/read") })
		b.ReportMetric(elapsed.Seconds(), "s-to-all-ready")
		b.ReportMetric(float64(reads), "project-reads")
		b.ReportMetric(float64(f.qc.RequestCount())/users, "requests/collaborator")
		stop()
		b.StartTimer()
	}
}
