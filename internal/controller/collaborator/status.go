package collaborator

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
)

// newStatusWriter writes what a pass learned, ignoring a
// lastSyncTime that alone moved: that is not news, and skipping it keeps
// steady-state resyncs write-free.
func newStatusWriter(cl client.Client, c *collabv1alpha1.Collaborator) *engine.StatusWriter[*collabv1alpha1.Collaborator] {
	return engine.NewStatusWriter(cl, c,
		func(dst, src *collabv1alpha1.Collaborator) { dst.Status = src.Status },
		func(o *collabv1alpha1.Collaborator) {
			o.Status.ObservedGeneration = o.Generation
			sum := o.Spec.Summary()
			o.Status.Provider, o.Status.Target, o.Status.Member, o.Status.Access = sum.Provider, sum.Target, sum.Member, sum.Access
			o.Status.ExpiresAt = o.Spec.ExpiresAt
		},
		func(next, prev *collabv1alpha1.Collaborator) bool {
			// A status without conditions would read as Current to
			// kstatus (observedGeneration matches and nothing is
			// abnormal). A first pass that learnt nothing (it lost a race
			// and comes back at once) leaves the API server's default,
			// which reads as in progress.
			if len(next.Status.Conditions) == 0 {
				return true
			}
			return engine.SameButLastSync(&next.Status, &prev.Status, func(s *collabv1alpha1.CollaboratorStatus) **metav1.Time { return &s.LastSyncTime })
		})
}

// slowFirstPass is how long a new Collaborator's first provider calls may
// take before its status says "Creating".
const slowFirstPass = time.Second

// reportSlowFirstPass writes Ready=Unknown "Creating" if the first pass of
// a new object is still waiting for its provider (or its request budget)
// after slowFirstPass; the returned func ends the wait and must run before
// the pass's own status write. A pass that finishes sooner writes status
// once: an in-progress write that is replaced a moment later would cost
// every new Collaborator one more API-server write (one in five of its
// writes, measured).
//
// The write is made from a copy, because the pass goes on using c, and it
// takes no resourceVersion precondition: the pass's later writes (the
// external-id annotation, the status) take none either, and its status
// write replaces these conditions.
func (r *Reconciler) reportSlowFirstPass(ctx context.Context, c *collabv1alpha1.Collaborator) func() {
	if meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady) != nil {
		return func() {}
	}
	base := c.DeepCopy()
	written := make(chan struct{})
	timer := time.AfterFunc(slowFirstPass, func() {
		defer close(written)
		progress := base.DeepCopy()
		progress.Status.ObservedGeneration = progress.Generation
		sum := progress.Spec.Summary()
		progress.Status.Provider, progress.Status.Target, progress.Status.Member, progress.Status.Access = sum.Provider, sum.Target, sum.Member, sum.Access
		engine.MarkProgress(&progress.Status.Conditions, progress.Generation, metav1.ConditionUnknown, collabv1alpha1.ReasonCreating,
			"Creating the collaborator at "+progress.Spec.ProviderName()+": waiting for its answer")
		if err := r.Client.Status().Patch(ctx, progress, client.MergeFrom(base)); err != nil {
			logf.FromContext(ctx).V(1).Info("Writing the Creating status failed", "error", err.Error())
		}
	})
	return func() {
		if !timer.Stop() {
			<-written
		}
	}
}
