package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ahsim "github.com/collab-dev/collaborator-operator/internal/provider/appharbor/sim"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
	wtisim "github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit/sim"
)

// ns holds the three ProviderConfigs and every Collaborator.
const ns = "chaos"

// The accounts the simulators are seeded with. The outsiders are at each
// provider from the start and no Collaborator names them: they must still
// be there at the end, exactly as they were.
const (
	qcOwnerUID  = 5001
	qcOwner     = "chaos-owner"
	qcToken     = "chaos-qc-token" //nolint:gosec // G101: a made-up token the simulator is seeded with
	qcOutsider  = "qc-outsider"
	ahToken     = "chaos-ah-token"
	ahOutsider  = "ah-outsider@example.com"
	wtiToken    = "chaos-wti-token"
	wtiOutsider = "wti-outsider@example.com"
	// usersPerTarget is how many people each project, application and
	// (twice over) the organization has slots for.
	usersPerTarget = 8
)

var (
	qcProjects = []int64{7001, 7002}
	ahApps     = []string{"chaos-app-a", "chaos-app-b"}
)

// slot is one person's access to one target: the identity of a
// Collaborator, which is immutable, so a slot has one object name.
type slot struct {
	name     string
	provider string
	project  int64  // QuantConnect
	user     string // QuantConnect
	app      string // AppHarbor
	email    string // AppHarbor, WebTranslateIt

	// live says the object was created and not deleted since.
	live bool
	// The spec the live object has now.
	write, liveControl bool
	role               collabv1alpha1.AppHarborRole
}

// workload is the driver and its model of what should be true.
type workload struct {
	r     *rig
	rng   *rand.Rand
	slots []*slot

	ops map[string]int
	// refused counts creates the API server refused because the slot's
	// previous object was still being deleted.
	refused int
	// early counts deletes of objects that had no finalizer yet (the
	// operator had not seen them, e.g. while it was down).
	early int
	// wtiGone are members whose Collaborator was deleted after the
	// operator put its finalizer on it: they must be out of the
	// organization. wtiMaybe were deleted before that: the operator never
	// saw them, so they may stay (a finalizer-based operator cannot act on
	// an object deleted before it added the finalizer). With the admission
	// policy the stack installs there are none: it adds the finalizer at
	// creation.
	wtiGone, wtiMaybe map[string]bool
	// gone are the slots whose last object the test deleted.
	gone map[string]bool
}

func newWorkload(r *rig, rng *rand.Rand) *workload {
	w := &workload{r: r, rng: rng, ops: map[string]int{},
		wtiGone: map[string]bool{}, wtiMaybe: map[string]bool{}, gone: map[string]bool{}}
	for _, p := range qcProjects {
		for i := range usersPerTarget {
			u := fmt.Sprintf("qc-user-%02d", i)
			w.slots = append(w.slots, &slot{name: fmt.Sprintf("qc-%d-%s", p, u), provider: pQC, project: p, user: u})
		}
	}
	for _, a := range ahApps {
		for i := range usersPerTarget {
			w.slots = append(w.slots, &slot{name: fmt.Sprintf("ah-%s-u%02d", a[len(a)-1:], i), provider: pAH,
				app: a, email: fmt.Sprintf("ah-user-%02d@example.com", i)})
		}
	}
	for i := range 2 * usersPerTarget {
		w.slots = append(w.slots, &slot{name: fmt.Sprintf("wti-u%02d", i), provider: pWTI,
			email: fmt.Sprintf("wti-user-%02d@example.com", i)})
	}
	return w
}

// setup seeds the simulators and creates the namespace, the Secrets and
// the ProviderConfigs.
func (w *workload) setup(ctx context.Context, t *testing.T) {
	t.Helper()
	qc := qcsim.Seed{Users: []qcsim.User{
		{UID: qcOwnerUID, PublicID: qcOwner, Name: "Owner", Email: "owner@example.com", APIToken: qcToken},
		{UID: 6000, PublicID: qcOutsider, Name: "Outsider", Email: "qc-outsider@example.com"},
	}}
	for i := range usersPerTarget {
		qc.Users = append(qc.Users, qcsim.User{UID: int64(6001 + i), PublicID: fmt.Sprintf("qc-user-%02d", i)})
	}
	for _, p := range qcProjects {
		qc.Projects = append(qc.Projects, qcsim.Project{ID: p, Owner: qcOwner,
			Collaborators: []qcsim.Member{{UserID: qcOutsider, Write: true}}})
	}
	ah := ahsim.Seed{Users: []ahsim.User{{Name: "outsider", Email: ahOutsider}},
		Tokens: []ahsim.Token{{Token: ahToken, Applications: ahApps}}}
	for i := range usersPerTarget {
		ah.Users = append(ah.Users, ahsim.User{Name: fmt.Sprintf("ah-user-%02d", i),
			Email: fmt.Sprintf("ah-user-%02d@example.com", i)})
	}
	for _, a := range ahApps {
		ah.Applications = append(ah.Applications, ahsim.Application{Slug: a,
			Collaborators: []ahsim.SeedCollaborator{{Email: ahOutsider, Role: "administrator"}}})
	}
	wti := wtisim.Seed{Organizations: []wtisim.Organization{{Token: wtiToken, Members: []string{wtiOutsider}}}}
	for _, s := range w.slots {
		if s.provider == pWTI {
			wti.Organizations[0].Members = append(wti.Organizations[0].Members, s.email)
		}
	}
	for _, err := range []error{w.r.qc.Seed(qc), w.r.ah.Seed(ah), w.r.wti.Seed(wti)} {
		if err != nil {
			t.Fatalf("seeding the simulators: %v", err)
		}
	}

	objs := make([]client.Object, 0, 7)
	objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	for p, data := range map[string]map[string]string{
		pQC:  {collabv1alpha1.QuantConnectUserIDKey: fmt.Sprint(qcOwnerUID), collabv1alpha1.QuantConnectAPITokenKey: qcToken},
		pAH:  {collabv1alpha1.AppHarborAccessTokenKey: ahToken},
		pWTI: {collabv1alpha1.WebTranslateItOrganizationTokenKey: wtiToken},
	} {
		objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: p + "-credentials", Namespace: ns},
			StringData: data})
		pc := &collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: p, Namespace: ns}}
		ref := collabv1alpha1.SecretReference{Name: p + "-credentials"}
		switch p {
		case pQC:
			pc.Spec.QuantConnect = &collabv1alpha1.QuantConnectConfig{BaseURL: w.r.urls[p], CredentialsSecretRef: ref}
		case pAH:
			pc.Spec.AppHarbor = &collabv1alpha1.AppHarborConfig{BaseURL: w.r.urls[p], CredentialsSecretRef: ref}
		case pWTI:
			pc.Spec.WebTranslateIt = &collabv1alpha1.WebTranslateItConfig{BaseURL: w.r.urls[p], CredentialsSecretRef: ref}
		}
		objs = append(objs, pc)
	}
	for _, o := range objs {
		if err := w.r.cl.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// drive runs random operations, one per tick, until duration or n.
func (w *workload) drive(ctx context.Context, t *testing.T, duration time.Duration, n int) {
	t.Helper()
	end := time.Now().Add(duration)
	tick := time.NewTicker(opInterval)
	defer tick.Stop()
	for w.total() < n && time.Now().Before(end) {
		select {
		case <-ctx.Done():
			t.Fatalf("the chaos phase ran out of time: %v", ctx.Err())
		case <-tick.C:
		}
		if err := w.r.sup.crashed(); err != nil {
			t.Fatal(err)
		}
		w.step(ctx, t)
	}
}

// step picks a slot at random: an absent one is created, a live one is
// changed or deleted, even odds (a WebTranslateIt one, with nothing to
// change, is deleted or left for another pick). About a third of the slots
// are then absent at any time, so the end state has many of both kinds.
func (w *workload) step(ctx context.Context, t *testing.T) {
	t.Helper()
	for {
		s := w.slots[w.rng.IntN(len(w.slots))]
		deleteIt := w.rng.IntN(2) == 0
		switch {
		case !s.live:
			w.create(ctx, t, s)
		case deleteIt:
			w.remove(ctx, t, s)
		case s.provider != pWTI:
			w.update(ctx, t, s)
		default:
			continue
		}
		return
	}
}

func (w *workload) create(ctx context.Context, t *testing.T, s *slot) {
	t.Helper()
	c := &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns}}
	c.Spec.ProviderConfigRef.Name = s.provider
	switch s.provider {
	case pQC:
		s.write, s.liveControl = w.rng.IntN(2) == 1, w.rng.IntN(2) == 1
		c.Spec.QuantConnect = &collabv1alpha1.QuantConnectCollaborator{ProjectID: s.project, UserID: s.user,
			Write: s.write, LiveControl: s.liveControl}
	case pAH:
		s.role = randomRole(w.rng)
		c.Spec.AppHarbor = &collabv1alpha1.AppHarborCollaborator{Application: s.app, Email: s.email, Role: s.role}
	case pWTI:
		c.Spec.WebTranslateIt = &collabv1alpha1.WebTranslateItCollaborator{Email: s.email}
	}
	err := w.r.cl.Create(ctx, c)
	if apierrors.IsAlreadyExists(err) {
		// The slot's last object still waits for its provider delete.
		w.refused++
		return
	}
	if err != nil {
		t.Fatalf("creating Collaborator %s: %v", s.name, err)
	}
	s.live = true
	delete(w.gone, s.name)
	w.ops["create/"+s.provider]++
}

func randomRole(rng *rand.Rand) collabv1alpha1.AppHarborRole {
	if rng.IntN(2) == 0 {
		return collabv1alpha1.AppHarborRoleCollaborator
	}
	return collabv1alpha1.AppHarborRoleAdministrator
}

func (w *workload) update(ctx context.Context, t *testing.T, s *slot) {
	t.Helper()
	var patch string
	switch s.provider {
	case pQC:
		// Any other of the four combinations.
		cur := b2i(s.write)<<1 | b2i(s.liveControl)
		next := (cur + 1 + w.rng.IntN(3)) % 4
		s.write, s.liveControl = next&2 != 0, next&1 != 0
		patch = fmt.Sprintf(`{"spec":{"quantConnect":{"write":%t,"liveControl":%t}}}`, s.write, s.liveControl)
	case pAH:
		// The other role.
		if s.role == collabv1alpha1.AppHarborRoleAdministrator {
			s.role = collabv1alpha1.AppHarborRoleCollaborator
		} else {
			s.role = collabv1alpha1.AppHarborRoleAdministrator
		}
		patch = fmt.Sprintf(`{"spec":{"appHarbor":{"role":%q}}}`, s.role)
	}
	c := &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns}}
	if err := w.r.cl.Patch(ctx, c, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("changing Collaborator %s: %v", s.name, err)
	}
	w.ops["update/"+s.provider]++
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// remove deletes the slot's object. It reads the object first and deletes
// only that version (a resourceVersion precondition), so the test knows
// whether the operator's finalizer was on it.
func (w *workload) remove(ctx context.Context, t *testing.T, s *slot) {
	t.Helper()
	for {
		c := &collabv1alpha1.Collaborator{}
		if err := w.r.cl.Get(ctx, types.NamespacedName{Namespace: ns, Name: s.name}, c); err != nil {
			t.Fatalf("reading Collaborator %s before deleting it: %v", s.name, err)
		}
		rv := c.ResourceVersion
		err := w.r.cl.Delete(ctx, c, client.Preconditions{ResourceVersion: &rv})
		if apierrors.IsConflict(err) {
			continue // the manager wrote it in between; read again
		}
		if err != nil {
			t.Fatalf("deleting Collaborator %s: %v", s.name, err)
		}
		finalized := controllerutil.ContainsFinalizer(c, collabv1alpha1.Finalizer)
		if !finalized {
			w.early++
		}
		if s.provider == pWTI {
			if finalized {
				w.wtiGone[s.email] = true
			} else {
				w.wtiMaybe[s.email] = true
			}
		}
		break
	}
	s.live = false
	w.gone[s.name] = true
	w.ops["delete/"+s.provider]++
}

// total is the number of operations done.
func (w *workload) total() int {
	n := 0
	for _, v := range w.ops {
		n += v
	}
	return n
}

// liveCount is how many Collaborators should exist at the end.
func (w *workload) liveCount() int {
	n := 0
	for _, s := range w.slots {
		if s.live {
			n++
		}
	}
	return n
}

// goneCount is how many slots had their last object deleted.
func (w *workload) goneCount() int { return len(w.gone) }
