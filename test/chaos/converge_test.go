package chaos

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// pollInterval paces the polls for a condition; nothing here sleeps to let
// things settle.
const pollInterval = 200 * time.Millisecond

// poll calls check until it reports no problem or timeout passes, and
// returns how long that took or the last problems. Each check gets the
// caller's context, not one cut at the deadline, so that the last report
// is about the stack and not about the deadline.
func (r *rig) poll(ctx context.Context, timeout time.Duration,
	check func(context.Context) []string) (time.Duration, []string) {
	start := time.Now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		problems := check(ctx)
		if err := r.sup.crashed(); err != nil {
			problems = append(problems, err.Error())
		}
		if len(problems) == 0 {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), append(problems, ctx.Err().Error())
		case <-deadline.C:
			return time.Since(start), problems
		case <-tick.C:
		}
	}
}

// waitSetupReady waits until the three ProviderConfigs are Ready, so that
// the chaos starts from a working stack.
func (r *rig) waitSetupReady(ctx context.Context, t *testing.T) {
	t.Helper()
	_, problems := r.poll(ctx, time.Minute, func(ctx context.Context) []string {
		var out []string
		for _, p := range []string{pQC, pAH, pWTI} {
			pc := &collabv1alpha1.ProviderConfig{}
			if err := r.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: p}, pc); err != nil {
				out = append(out, err.Error())
				continue
			}
			if !meta.IsStatusConditionTrue(pc.Status.Conditions, collabv1alpha1.ConditionReady) {
				out = append(out, fmt.Sprintf("ProviderConfig %s not Ready: %s", p, describe(pc.Status.Conditions)))
			}
		}
		return out
	})
	if len(problems) > 0 {
		t.Fatalf("the ProviderConfigs did not become Ready before the chaos:\n%s", strings.Join(problems, "\n"))
	}
}

// converge waits until the cluster and the providers agree with the
// model, and returns how long that took or, at the deadline, what still
// differs.
func (r *rig) converge(ctx context.Context, w *workload, deadline time.Duration) (time.Duration, []string) {
	took, problems := r.poll(ctx, deadline, func(ctx context.Context) []string {
		problems := r.adoptLostCreates(ctx)
		return append(append(problems, r.objectProblems(ctx, w)...), r.providerProblems(w)...)
	})
	sort.Strings(problems)
	return took, problems
}

// objectProblems compares the Collaborators with the model: every live
// slot Ready for its current generation, every other slot gone.
func (r *rig) objectProblems(ctx context.Context, w *workload) []string {
	list := &collabv1alpha1.CollaboratorList{}
	if err := r.cl.List(ctx, list, client.InNamespace(ns)); err != nil {
		return []string{"listing Collaborators: " + err.Error()}
	}
	byName := map[string]*collabv1alpha1.Collaborator{}
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	var out []string
	for _, s := range w.slots {
		c, ok := byName[s.name]
		switch {
		case !s.live && ok:
			out = append(out, fmt.Sprintf("%s: deleted by the test but still present (deleting since %s; %s)",
				s.name, c.DeletionTimestamp, describe(c.Status.Conditions)))
		case s.live && !ok:
			out = append(out, s.name+": created by the test but gone from the API server")
		case s.live:
			out = append(out, readyProblems(s, c)...)
			out = append(out, r.identityProblems(s, c)...)
		}
	}
	return out
}

// readyProblems says why a live slot's object is not what the end state
// needs.
func readyProblems(s *slot, c *collabv1alpha1.Collaborator) []string {
	want := collabv1alpha1.ReasonAvailable
	if s.provider == pWTI {
		want = collabv1alpha1.ReasonDeleteOnly
	}
	ready := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady)
	var out []string
	switch {
	case c.DeletionTimestamp != nil:
		out = append(out, s.name+": live in the test but being deleted")
	case c.Status.ObservedGeneration != c.Generation:
		out = append(out, fmt.Sprintf("%s: status.observedGeneration %d, generation %d (%s)",
			s.name, c.Status.ObservedGeneration, c.Generation, describe(c.Status.Conditions)))
	case ready == nil || ready.Status != metav1.ConditionTrue || ready.Reason != want:
		out = append(out, fmt.Sprintf("%s: want Ready=True %s; %s", s.name, want, describe(c.Status.Conditions)))
	case ready.ObservedGeneration != c.Generation:
		out = append(out, fmt.Sprintf("%s: Ready is for generation %d, the object is at %d",
			s.name, ready.ObservedGeneration, c.Generation))
	}
	// The spec is the test's own writing; a mismatch is a bug in the test.
	switch {
	case s.provider == pQC && (c.Spec.QuantConnect.Write != s.write || c.Spec.QuantConnect.LiveControl != s.liveControl):
		out = append(out, fmt.Sprintf("%s: spec %+v, the test wrote write=%t liveControl=%t",
			s.name, *c.Spec.QuantConnect, s.write, s.liveControl))
	case s.provider == pAH && c.Spec.AppHarbor.Role != s.role:
		out = append(out, fmt.Sprintf("%s: spec role %s, the test wrote %s", s.name, c.Spec.AppHarbor.Role, s.role))
	}
	return out
}

// identityProblems checks that a live object names its own person at the
// provider: the AppHarbor id it recorded is the one AppHarbor holds for its
// email, and QuantConnect's record in its status is its user's.
func (r *rig) identityProblems(s *slot, c *collabv1alpha1.Collaborator) []string {
	id := c.Annotations[collabv1alpha1.ExternalIDAnnotation]
	switch s.provider {
	case pAH:
		held, ok := r.ah.CollaboratorByEmail(s.app, s.email)
		if ok && id != held.ID {
			return []string{fmt.Sprintf("%s: external-id %q, AppHarbor holds %s as %q", s.name, id, s.email, held.ID)}
		}
	case pQC:
		if st := c.Status.QuantConnect; st == nil || st.PublicID != s.user {
			return []string{fmt.Sprintf("%s: status.quantConnect %+v, want user %s", s.name, st, s.user)}
		}
	}
	return nil
}

// providerProblems compares each simulator's state with the model.
func (r *rig) providerProblems(w *workload) []string {
	return append(append(r.quantConnectProblems(w), r.appHarborProblems(w)...), r.webTranslateItProblems(w)...)
}

func (r *rig) quantConnectProblems(w *workload) []string {
	var out []string
	for _, p := range qcProjects {
		want := map[string]string{qcOutsider: access(true, false)}
		for _, s := range w.slots {
			if s.provider == pQC && s.project == p && s.live {
				want[s.user] = access(s.write, s.liveControl)
			}
		}
		list, _ := r.qc.Collaborators(p)
		got := map[string]string{}
		for _, c := range list {
			if c.Owner {
				continue
			}
			if _, dup := got[c.PublicID]; dup {
				out = append(out, fmt.Sprintf("QuantConnect project %d lists %s twice", p, c.PublicID))
			}
			got[c.PublicID] = access(c.Permission == "write", c.LiveControl)
		}
		out = append(out, diff(fmt.Sprintf("QuantConnect project %d", p), want, got)...)
	}
	return out
}

func access(write, live bool) string {
	a := "read"
	if write {
		a = "write"
	}
	if live {
		a += "+live"
	}
	return a
}

func (r *rig) appHarborProblems(w *workload) []string {
	var out []string
	for _, app := range ahApps {
		want := map[string]string{ahOutsider: string(collabv1alpha1.AppHarborRoleAdministrator)}
		for _, s := range w.slots {
			if s.provider == pAH && s.app == app && s.live {
				want[s.email] = string(s.role)
			}
		}
		got := map[string]string{}
		for _, c := range r.ah.Collaborators(app) {
			if _, dup := got[c.Email]; dup {
				out = append(out, fmt.Sprintf("AppHarbor %s holds %s twice", app, c.Email))
			}
			got[c.Email] = c.Role
		}
		out = append(out, diff("AppHarbor "+app, want, got)...)
	}
	return out
}

// webTranslateItProblems: WebTranslateIt has no create, so the organization
// only loses members: those whose Collaborator was deleted after the
// operator had seen it, and nobody else.
func (r *rig) webTranslateItProblems(w *workload) []string {
	got := map[string]bool{}
	for _, m := range r.wti.Members(wtiToken) {
		got[m] = true
	}
	var out []string
	if !got[wtiOutsider] {
		out = append(out, "WebTranslateIt removed "+wtiOutsider+", whom no Collaborator names")
	}
	for _, s := range w.slots {
		if s.provider != pWTI {
			continue
		}
		switch {
		case w.wtiGone[s.email] && got[s.email]:
			out = append(out, fmt.Sprintf("WebTranslateIt still has %s, whose Collaborator %s was deleted (lost delete)",
				s.email, s.name))
		case !w.wtiGone[s.email] && !w.wtiMaybe[s.email] && !got[s.email]:
			out = append(out, fmt.Sprintf("WebTranslateIt removed %s, whose Collaborator %s was never deleted",
				s.email, s.name))
		}
	}
	return out
}

// diff lists who is missing, extra or has other access than wanted.
func diff(where string, want, got map[string]string) []string {
	var out []string
	for who, a := range want {
		g, ok := got[who]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: %s missing (want %s)", where, who, a))
		case g != a:
			out = append(out, fmt.Sprintf("%s: %s has %s, want %s", where, who, g, a))
		}
	}
	for who, g := range got {
		if _, ok := want[who]; !ok {
			out = append(out, fmt.Sprintf("%s: %s has %s but no live Collaborator names them", where, who, g))
		}
	}
	return out
}

// describe renders conditions for messages: type=status reason: message.
func describe(conds []metav1.Condition) string {
	if len(conds) == 0 {
		return "no conditions"
	}
	parts := make([]string, 0, len(conds))
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s %s: %q", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, "; ")
}

// checkChecker proves the end-state checks are not blind: a wrong access
// planted at each simulator after convergence must be reported, and the
// state is restored afterwards.
func (r *rig) checkChecker(t *testing.T, w *workload) {
	t.Helper()
	p := qcProjects[0]
	if !r.qc.RemoveCollaborator(p, qcOutsider) {
		t.Fatalf("QuantConnect project %d lost %s", p, qcOutsider)
	}
	if len(r.quantConnectProblems(w)) == 0 {
		t.Error("the QuantConnect check missed a removed member")
	}
	if err := r.qc.SetCollaborator(p, qcOutsider, false, true); err != nil {
		t.Fatal(err)
	}
	c, ok := r.ah.CollaboratorByEmail(ahApps[0], ahOutsider)
	if !ok {
		t.Fatalf("AppHarbor %s lost %s", ahApps[0], ahOutsider)
	}
	if err := r.ah.SetRole(ahApps[0], c.ID, string(collabv1alpha1.AppHarborRoleCollaborator)); err != nil {
		t.Fatal(err)
	}
	if len(r.appHarborProblems(w)) == 0 {
		t.Error("the AppHarbor check missed a changed role")
	}
	if err := r.ah.SetRole(ahApps[0], c.ID, string(collabv1alpha1.AppHarborRoleAdministrator)); err != nil {
		t.Fatal(err)
	}
	r.wti.RemoveMember(wtiToken, wtiOutsider)
	if len(r.webTranslateItProblems(w)) == 0 {
		t.Error("the WebTranslateIt check missed a removed member")
	}
	r.wti.AddMember(wtiToken, wtiOutsider)
	if problems := r.providerProblems(w); len(problems) > 0 {
		t.Errorf("restoring the planted changes left problems:\n%s", strings.Join(problems, "\n"))
	}
}
