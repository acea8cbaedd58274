// Package accesspolicy compares a project's or application's whole member
// list with the Collaborators that declare it, and reports or removes the
// difference.
package accesspolicy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/metrics"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Event reasons of AccessPolicies.
const (
	eventRemoved = "Removed"
)

// maxNamed is how many unmanaged members a condition message names.
const maxNamed = 10

// Reconciler compares a project's or application's whole
// member list, read from the snapshot the Collaborators share, with the
// Collaborators that declare it; it reports the difference, or in Enforce
// mode removes it within the policy's removal limit.
type Reconciler struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// Connector is the manager's one connector.
	Connector *connector.Connector
	// Recorder publishes Events.
	Recorder events.EventRecorder
	// Retry tunes retries.
	Retry engine.RetrySettings
	// Uninstall says when the operator is being uninstalled; nil never does.
	Uninstall *uninstall.Watch

	report engine.Reporter
}

// +kubebuilder:rbac:groups=collab.dev,resources=accesspolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=collab.dev,resources=accesspolicies/status,verbs=get;update;patch

// Reconcile runs one pass for one AccessPolicy. An AccessPolicy holds
// nothing at the provider, so it needs no finalizer: deleting it only
// stops the checks.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	r.init()
	p := &collabv1alpha1.AccessPolicy{}
	if err := r.Client.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Uninstalling never revokes: the Collaborators it deletes must not
	// read as undeclared members to remove.
	if !p.DeletionTimestamp.IsZero() || r.Uninstall.Uninstalling() {
		return ctrl.Result{}, nil
	}
	st := newStatusWriter(r.Client, p)
	defer func() {
		if err := st.Write(ctx, p); err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()

	conn, lister, err := r.connect(ctx, p)
	if err != nil {
		return r.fail(ctx, p, "Cannot use the ProviderConfig", err, true)
	}
	target := policyTarget(p)
	// The provider's list is read before the Collaborators: a Collaborator
	// that creates its member does so after the manager's cache showed it,
	// so any member in this answer that a Collaborator made is declared in
	// the cache read below. Reading the other way round could see the
	// member but not yet its Collaborator, and remove it.
	members, at, err := listMembers(ctx, p, lister, target)
	if err != nil {
		return r.fail(ctx, p, "Reading the member list failed", err, true)
	}
	decl, err := declaredMembers(ctx, r.declarations(), p, hostKey(conn.Endpoint.BaseURL))
	if err != nil {
		return r.fail(ctx, p, "Listing the Collaborators failed", err, true)
	}
	sorted := sortMembers(p, members, decl)
	sorted.limitToGrants(p, conn.Grants)
	undeclared, removable := sorted.undeclared(), sorted.removable()
	p.Status.Members = int32(len(members))   //nolint:gosec // a member list is far below 2^31
	p.Status.Managed = int32(sorted.managed) //nolint:gosec // at most the member count
	p.Status.Unmanaged = unmanagedStatus(sorted.unmanaged)

	interval := conn.Spec.SyncIntervalOrDefault()
	next := decl.capAtExpiry(ctrl.Result{RequeueAfter: engine.NextRead(at, interval)})
	gen := p.Generation
	switch {
	case len(undeclared) == 0:
		r.compliant(p, sorted.unmanaged)
		return next, nil
	case p.Spec.Mode != collabv1alpha1.AccessPolicyEnforce:
		r.stalled(p, collabv1alpha1.ReasonUnmanagedMembers, fmt.Sprintf(
			"%d member(s) of %s %s are declared by no Collaborator: %s. Declare them with Collaborators "+
				"(`kubectl collab import` prints them), add them to spec.exempt, or remove them; mode Enforce removes them%s",
			len(undeclared), conn.Endpoint.Provider, targetOf(&p.Spec), nameSome(undeclared), keptClause(undeclared)))
		return next, nil
	case len(removable) > p.Spec.MaxRemovalsOrDefault():
		r.stalled(p, collabv1alpha1.ReasonRemovalLimit, fmt.Sprintf(
			"%d member(s) of %s %s are declared by no Collaborator, more than maxRemovals (%d): none was removed. "+
				"Check that the Collaborators are all there; to proceed, raise spec.maxRemovals or declare or exempt members. Unmanaged: %s",
			len(removable), conn.Endpoint.Provider, targetOf(&p.Spec), p.Spec.MaxRemovalsOrDefault(), nameSome(removable)))
		return next, nil
	case len(removable) > 0 && decl.pendingIDs+decl.pendingElsewhere > 0:
		// An AppHarbor Collaborator without its member's id may be creating
		// one of these members this very moment. Those of other namespaces
		// are not counted in the message: nothing of them is shown.
		engine.MarkProgress(&p.Status.Conditions, gen, metav1.ConditionFalse, collabv1alpha1.ReasonWaitingForCollaborators,
			waitingMessage(&p.Spec, decl))
		return r.report.Retry.Pending(p), nil
	}
	// The cache may not show the uninstall yet whose deletes made these
	// members undeclared: a removal cannot be undone, so ask.
	if uninstalling, err := r.Uninstall.Confirm(ctx); err != nil || uninstalling {
		st.Skip()
		return ctrl.Result{}, err
	}
	for i, m := range removable {
		if err := lister.RemoveMember(provider.WithRemoval(ctx), target, m.Member); err != nil {
			p.Status.Unmanaged = unmanagedStatus(without(sorted.unmanaged, removable[:i]))
			return r.fail(ctx, p, fmt.Sprintf("Removing %s failed", memberName(m.Member)), err, false)
		}
		metrics.MemberRemoved(conn.Endpoint.Provider)
		logf.FromContext(ctx).Info("Removed an unmanaged member", "member", memberName(m.Member))
		r.report.Event(p, corev1.EventTypeNormal, eventRemoved, "Remove", "Removed %s (%s) from %s %s: no Collaborator declares them",
			memberName(m.Member), m.Access, conn.Endpoint.Provider, targetOf(&p.Spec))
	}
	p.Status.Members -= int32(len(removable)) //nolint:gosec // bounded by the member count
	kept := sorted.kept()
	p.Status.Unmanaged = unmanagedStatus(kept)
	if left := (sorting{unmanaged: kept}).undeclared(); len(left) > 0 {
		// Members Enforce may not remove (AppHarbor administrators) and no
		// Collaborator declares: the project is not compliant, and only a
		// person can make it so.
		r.stalled(p, collabv1alpha1.ReasonUnmanagedMembers, fmt.Sprintf(
			"%d member(s) of %s %s are declared by no Collaborator and are never removed: %s. %s",
			len(left), conn.Endpoint.Provider, targetOf(&p.Spec), nameSome(left), notes(left)))
		return next, nil
	}
	r.compliant(p, kept)
	return next, nil
}

// listMembers reads the target's member list from the shared snapshot,
// unless that may be older than what the policy asks: a new policy, or a
// new generation of one, must not judge from a snapshot read before it
// existed (a new Report policy would call a project Compliant that a
// member joined a moment earlier, and a new Enforce policy would remove
// them only at the next read). A generation this status has not yet
// described reads afresh; so does a snapshot from before the policy was
// created (creationTimestamp counts whole seconds, hence the second's
// margin). Later passes share the snapshot with the Collaborators.
func listMembers(ctx context.Context, p *collabv1alpha1.AccessPolicy, lister provider.Lister, target provider.Target) ([]provider.Member, time.Time, error) {
	newGeneration := p.Status.ObservedGeneration != p.Generation
	if newGeneration {
		ctx = provider.WithFreshRead(ctx)
	}
	members, at, err := lister.ListMembers(ctx, target)
	if err != nil || newGeneration || !at.Before(p.CreationTimestamp.Add(time.Second)) {
		return members, at, err
	}
	return lister.ListMembers(provider.WithFreshRead(ctx), target)
}

// without is fs less the members of gone.
func without(fs, gone []finding) []finding {
	ids := make(map[string]bool, len(gone))
	for _, g := range gone {
		ids[g.ID] = true
	}
	return filter(fs, func(f finding) bool { return !ids[f.ID] })
}

// connect resolves the ProviderConfig, checks it is for the policy's
// provider and that the provider can list members.
func (r *Reconciler) connect(ctx context.Context, p *collabv1alpha1.AccessPolicy) (*connector.Connection, provider.Lister, error) {
	conn, err := r.Connector.For(ctx, connector.PolicyUse(p))
	if err != nil {
		return nil, nil, err
	}
	lister, ok := conn.Client.(provider.Lister)
	if !conn.Client.Capabilities().ListMembers || !ok {
		return nil, nil, &engine.SetupError{Reason: collabv1alpha1.ReasonProviderMismatch, Terminal: true,
			Message: fmt.Sprintf("%s offers no member list, so an AccessPolicy cannot cover it", conn.Endpoint.Provider)}
	}
	return conn, lister, nil
}

// compliant records that every member is accounted for. Members declared
// by Collaborators elsewhere are declared too; listed is what
// status.unmanaged holds, only such members.
func (r *Reconciler) compliant(p *collabv1alpha1.AccessPolicy, listed []finding) {
	msg := fmt.Sprintf("Every member of %s %s is declared by a Collaborator, the owner, the ProviderConfig's own account or exempt",
		p.Spec.ProviderName(), targetOf(&p.Spec))
	if len(listed) > 0 {
		msg += fmt.Sprintf("; %d of them, declared by Collaborators elsewhere in the cluster, are listed in status.unmanaged and never removed", len(listed))
	}
	engine.MarkHealthy(&p.Status.Conditions, p.Generation, collabv1alpha1.ReasonCompliant, msg, "The last read of the member list succeeded")
	p.Status.LastSyncTime = engine.Now()
	r.report.Retry.Succeeded(p)
}

// stalled records a finding only a person can resolve. The read itself
// succeeded, so Synced is True.
func (r *Reconciler) stalled(p *collabv1alpha1.AccessPolicy, reason, msg string) {
	msg = engine.CapMessage(msg)
	gen := p.Generation
	engine.SetCondition(&p.Status.Conditions, gen, collabv1alpha1.ConditionReady, metav1.ConditionFalse, reason, msg)
	engine.SetCondition(&p.Status.Conditions, gen, collabv1alpha1.ConditionStalled, metav1.ConditionTrue, reason, msg)
	engine.SetCondition(&p.Status.Conditions, gen, collabv1alpha1.ConditionSynced, metav1.ConditionTrue,
		collabv1alpha1.ReasonReconcileSuccess, "The last read of the member list succeeded")
	meta.RemoveStatusCondition(&p.Status.Conditions, collabv1alpha1.ConditionReconciling)
	p.Status.LastSyncTime = engine.Now()
	r.report.Retry.Succeeded(p)
}

// fail records a failed step, as for Collaborators: a failed periodic read
// of a Ready policy leaves Ready as last observed.
func (r *Reconciler) fail(ctx context.Context, p *collabv1alpha1.AccessPolicy, what string, err error, readOnly bool) (ctrl.Result, error) {
	return r.report.Fail(ctx, p, &p.Status.Conditions, what, err, readOnly), nil
}

// nameSome names up to maxNamed members for a message.
func nameSome(fs []finding) string {
	names := make([]string, 0, min(len(fs), maxNamed))
	for i, f := range fs {
		if i == maxNamed {
			names = append(names, fmt.Sprintf("and %d more (see status.unmanaged)", len(fs)-maxNamed))
			break
		}
		names = append(names, fmt.Sprintf("%s (%s)", memberName(f.Member), f.Access))
	}
	return strings.Join(names, ", ")
}

// waitingMessage says why removals wait for Collaborators that may be
// creating members. Those of other namespaces are not counted: nothing
// about them is shown.
func waitingMessage(s *collabv1alpha1.AccessPolicySpec, d declared) string {
	who := fmt.Sprintf("%d Collaborator(s) of %s", d.pendingIDs, targetOf(s))
	switch {
	case d.pendingIDs == 0:
		who = "Collaborators elsewhere in the cluster on " + targetOf(s)
	case d.pendingElsewhere > 0:
		who += ", and others elsewhere in the cluster,"
	}
	return who + " have no collaborator id yet or a create pending, so the members they create cannot be told from unmanaged ones; " +
		"nothing is removed until they have their ids"
}

// keptClause explains, for a message, why some of fs are never removed.
func keptClause(fs []finding) string {
	if n := notes(fs); n != "" {
		return ". Some are the exception: " + n
	}
	return ""
}

// notes joins the distinct notes of fs, each saying why its members are
// never removed.
func notes(fs []finding) string {
	var out []string
	for _, f := range fs {
		if f.note != "" && !slices.Contains(out, f.note) {
			out = append(out, f.note)
		}
	}
	return strings.Join(out, "; ")
}

// capAtExpiry brings the next pass forward to the next expiry of a
// declared Collaborator: from then on its member is no longer declared.
func (d declared) capAtExpiry(res ctrl.Result) ctrl.Result {
	if d.nextExpiry.IsZero() {
		return res
	}
	if w := time.Until(d.nextExpiry) + time.Second; w < res.RequeueAfter {
		res.RequeueAfter = max(w, time.Second)
	}
	return res
}

// init builds what Reconcile needs besides the fields; SetupWithManager
// calls it, and tests that call Reconcile directly.
func (r *Reconciler) init() {
	if r.report.Retry == nil {
		r.report = engine.Reporter{Recorder: r.Recorder, Retry: engine.NewRetryPolicy(r.Retry)}
	}
}
