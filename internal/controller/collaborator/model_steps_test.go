package collaborator_test

import (
	"slices"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"pgregory.net/rapid"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// actions are the steps rapid draws from (each equally likely), with the
// invariant check ("") that runs after each. Some steps are listed more
// than once to be drawn more often: passes are what a manager mostly
// does, and objects must exist for most steps to act on.
func (m *trustModel) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"":                   func(*rapid.T) { m.check() },
		"create":             m.create,
		"create2":            m.create,
		"duplicate":          m.duplicate,
		"rename":             m.rename,
		"editAccess":         m.editAccess,
		"expire":             m.expire,
		"extend":             m.extend,
		"pause":              m.togglePause,
		"managementPolicy":   m.toggleManagement,
		"deletionPolicy":     m.toggleDeletion,
		"delete":             m.delete,
		"delete2":            m.delete,
		"breakCredentials":   m.breakCredentials,
		"repairCredentials":  func(t *rapid.T) { m.repair(drawCreds(t)) },
		"repairCredentials2": func(t *rapid.T) { m.repair(drawCreds(t)) },
		"handAdd":            m.handAdd,
		"handRemove":         m.handRemove,
		"pass":               m.passStep,
		"pass2":              m.passStep,
		"pass3":              m.passStep,
		"passAll":            m.passAll,
		"faultyPass":         m.faultyPass,
		"faultyPass2":        m.faultyPass,
		"faultyPass3":        m.faultyPass,
		"outage":             m.toggleOutage,
		"restart":            m.restart,
		"otherControllers":   func(t *rapid.T) { m.otherControllers(drawCreds(t)) },
		"personActs":         m.personActsStep,
		"requestReconcile":   m.requestReconcile,
		"editGrants":         m.editGrants,
		"editGrants2":        m.editGrants,
		"relabel":            m.relabel,
	}
}

// logf logs a step: the logs of the shrunk failing sequence are the
// report of what happened.
func (m *trustModel) logf(format string, args ...any) {
	m.step++
	m.t.Logf("step %d: "+format, append([]any{m.step}, args...)...)
}

// drawSlot draws one of the slots whose object (nil when none is stored)
// fits, or skips the step when none fits (rapid then draws another).
func (m *trustModel) drawSlot(t *rapid.T, fits func(s slot, c *collabv1alpha1.Collaborator) bool) (slot, *collabv1alpha1.Collaborator) {
	var names []string
	for _, s := range modelSlots {
		// prev is the store as the last step left it: nothing changed since.
		if fits(s, m.prev[s.name]) {
			names = append(names, s.name)
		}
	}
	if len(names) == 0 {
		t.Skip("no slot fits")
	}
	name := rapid.SampledFrom(names).Draw(t, "slot")
	i := slices.IndexFunc(modelSlots, func(s slot) bool { return s.name == name })
	if c := m.prev[name]; c != nil {
		return modelSlots[i], c.DeepCopy()
	}
	return modelSlots[i], nil
}

func exists(_ slot, c *collabv1alpha1.Collaborator) bool { return c != nil }

func drawProvider(t *rapid.T) string { return rapid.SampledFrom(ct.ProviderNames).Draw(t, "provider") }

func drawRole(t *rapid.T, label string) collabv1alpha1.AppHarborRole {
	return rapid.SampledFrom([]collabv1alpha1.AppHarborRole{"", collabv1alpha1.AppHarborRoleCollaborator,
		collabv1alpha1.AppHarborRoleAdministrator}).Draw(t, label)
}

// minutes is now moved by n minutes, in whole seconds as the API server
// stores it.
func minutes(n int) *metav1.Time {
	at := metav1.NewTime(time.Now().Add(time.Duration(n) * time.Minute).Truncate(time.Second))
	return &at
}

func (m *trustModel) create(t *rapid.T) {
	s, _ := m.drawSlot(t, func(_ slot, c *collabv1alpha1.Collaborator) bool { return c == nil })
	var c *collabv1alpha1.Collaborator
	switch s.provider {
	case qcName:
		c = ct.QuantConnect(s.name, s.person, rapid.Bool().Draw(t, "write"), rapid.Bool().Draw(t, "liveControl"))
	case ahName:
		c = ct.AppHarbor(s.name, s.person, drawRole(t, "role"))
	default:
		c = ct.WebTranslateIt(s.name, s.person)
	}
	viaCluster(s, c)
	if rapid.IntRange(0, 4).Draw(t, "observe") == 0 {
		c.Spec.ManagementPolicy = collabv1alpha1.ManagementObserve
	}
	if rapid.IntRange(0, 4).Draw(t, "orphan") == 0 {
		c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
	}
	if rapid.IntRange(0, 9).Draw(t, "paused") == 0 {
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.PausedAnnotation, "true")
	}
	switch rapid.IntRange(0, 5).Draw(t, "expiresAt") {
	case 0:
		c.Spec.ExpiresAt = minutes(-rapid.IntRange(1, 600).Draw(t, "minutesAgo"))
	case 1:
		c.Spec.ExpiresAt = minutes(rapid.IntRange(10, 600).Draw(t, "minutesAhead"))
	}
	if got, ok := m.held(s); ok && s.provider == ahName && rapid.Bool().Draw(t, "adoptByID") {
		// Written by hand to adopt an existing collaborator (API.md).
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, got.ID)
	}
	m.e.Create(c)
	m.touch(s)
	m.state[s.person].released = false
	m.logf("create %s: %s", s.name, m.describe(s))
}

// twin returns a copy of an object of s's grant under another name that
// is not being deleted (as drawSlot's prev holds it), or nil.
func (m *trustModel) twin(s slot) *collabv1alpha1.Collaborator {
	for _, o := range grantOf(s) {
		if c := m.prev[o.name]; o.name != s.name && c != nil && !isDeleting(c) {
			return c.DeepCopy()
		}
	}
	return nil
}

// duplicate creates a second object of a grant that an existing object
// (any, not being deleted) declares, under another name and so with a
// later creationTimestamp: with the same spec, as Argo CD or Flux apply
// the new name of a rename before pruning the old one, or (a person's
// copy-and-edit) asking for other access.
func (m *trustModel) duplicate(t *rapid.T) {
	s, _ := m.drawSlot(t, func(s slot, c *collabv1alpha1.Collaborator) bool { return c == nil && m.twin(s) != nil })
	orig := m.twin(s)
	c := m.copyOf(t, s, orig)
	other := ""
	if s.provider != wtiName && rapid.Bool().Draw(t, "otherAccess") {
		switch {
		case c.Spec.QuantConnect != nil:
			qc := c.Spec.QuantConnect
			for qc.Write == orig.Spec.QuantConnect.Write && qc.LiveControl == orig.Spec.QuantConnect.LiveControl {
				qc.Write, qc.LiveControl = rapid.Bool().Draw(t, "write"), rapid.Bool().Draw(t, "liveControl")
			}
		default:
			c.Spec.AppHarbor.Role = collabv1alpha1.AppHarborRoleAdministrator
			if roleOf(orig) == collabv1alpha1.AppHarborRoleAdministrator {
				c.Spec.AppHarbor.Role = rapid.SampledFrom([]collabv1alpha1.AppHarborRole{"", collabv1alpha1.AppHarborRoleCollaborator}).Draw(t, "role")
			}
		}
		other = " with other access"
	}
	m.e.Create(c)
	m.touch(s)
	m.state[s.person].released = false
	m.logf("duplicate %s as %s%s: %s", orig.Name, s.name, other, m.describe(s))
}

// rename is a rename in Git as Argo CD and Flux carry it out: the new
// name applied with the same spec, and the old name pruned at once, before
// any pass of the new one.
func (m *trustModel) rename(t *rapid.T) {
	s, _ := m.drawSlot(t, func(s slot, c *collabv1alpha1.Collaborator) bool { return c == nil && m.twin(s) != nil })
	orig := m.twin(s)
	m.e.Create(m.copyOf(t, s, orig))
	m.touch(s)
	m.state[s.person].released = false
	old := modelSlots[slices.IndexFunc(modelSlots, func(o slot) bool { return o.name == orig.Name })]
	m.e.Delete(orig)
	m.touch(old)
	m.logf("rename %s to %s (created, then the old one deleted): %s; %s", orig.Name, s.name, m.describe(old), m.describe(s))
}

// copyOf is a new object of slot s with orig's spec, and the annotations
// of orig's manifest that a copy in Git carries along when drawn so
// (paused, an external id written by hand).
func (m *trustModel) copyOf(t *rapid.T, s slot, orig *collabv1alpha1.Collaborator) *collabv1alpha1.Collaborator {
	c := &collabv1alpha1.Collaborator{}
	c.Name, c.Namespace = s.name, s.namespace()
	c.Spec = *orig.Spec.DeepCopy()
	for _, key := range []string{collabv1alpha1.PausedAnnotation, collabv1alpha1.ExternalIDAnnotation} {
		if v, ok := orig.Annotations[key]; ok && rapid.Bool().Draw(t, "copy "+key) {
			metav1.SetMetaDataAnnotation(&c.ObjectMeta, key, v)
		}
	}
	return c
}

func (m *trustModel) editAccess(t *rapid.T) {
	s, c := m.drawSlot(t, func(s slot, c *collabv1alpha1.Collaborator) bool { return c != nil && s.provider != wtiName })
	m.e.Edit(c, func() {
		if c.Spec.QuantConnect != nil {
			c.Spec.QuantConnect.Write = rapid.Bool().Draw(t, "write")
			c.Spec.QuantConnect.LiveControl = rapid.Bool().Draw(t, "liveControl")
		} else {
			c.Spec.AppHarbor.Role = drawRole(t, "role")
		}
	})
	m.touch(s)
	m.logf("edit the access of %s: %s", s.name, m.describe(s))
}

func (m *trustModel) expire(t *rapid.T) {
	s, c := m.drawSlot(t, exists)
	m.e.Edit(c, func() { c.Spec.ExpiresAt = minutes(-rapid.IntRange(1, 600).Draw(t, "minutesAgo")) })
	m.touch(s)
	m.logf("expire %s: %s", s.name, m.describe(s))
}

func (m *trustModel) extend(t *rapid.T) {
	s, c := m.drawSlot(t, exists)
	m.e.Edit(c, func() {
		c.Spec.ExpiresAt = nil
		if rapid.Bool().Draw(t, "intoTheFuture") {
			c.Spec.ExpiresAt = minutes(rapid.IntRange(10, 600).Draw(t, "minutesAhead"))
		}
	})
	m.touch(s)
	m.logf("extend %s: %s", s.name, m.describe(s))
}

func (m *trustModel) togglePause(t *rapid.T) {
	s, c := m.drawSlot(t, exists)
	m.e.Edit(c, func() {
		if isPaused(c) {
			delete(c.Annotations, collabv1alpha1.PausedAnnotation)
		} else {
			metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.PausedAnnotation, "true")
		}
	})
	m.touch(s)
	m.logf("toggle the pause of %s: %s", s.name, m.describe(s))
}

func (m *trustModel) toggleManagement(t *rapid.T) {
	s, c := m.drawSlot(t, exists)
	m.e.Edit(c, func() {
		c.Spec.ManagementPolicy = collabv1alpha1.ManagementObserve
		if isObserve(c) {
			c.Spec.ManagementPolicy = collabv1alpha1.ManagementFull
		}
	})
	m.touch(s)
	m.logf("toggle the managementPolicy of %s: %s", s.name, m.describe(s))
}

func (m *trustModel) toggleDeletion(t *rapid.T) {
	s, c := m.drawSlot(t, exists)
	m.e.Edit(c, func() {
		c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
		if isOrphan(c) {
			c.Spec.DeletionPolicy = collabv1alpha1.DeletionDelete
		}
	})
	m.touch(s)
	m.logf("toggle the deletionPolicy of %s: %s", s.name, m.describe(s))
}

func (m *trustModel) delete(t *rapid.T) {
	s, c := m.drawSlot(t, func(_ slot, c *collabv1alpha1.Collaborator) bool { return c != nil && !isDeleting(c) })
	m.e.Delete(c)
	m.touch(s)
	m.logf("delete %s: %s", s.name, m.describe(s))
}

func (m *trustModel) handAdd(t *rapid.T) {
	s, c := m.drawSlot(t, func(s slot, _ *collabv1alpha1.Collaborator) bool { _, ok := m.held(s); return !ok })
	target := ct.Target(s.provider)
	note := ""
	switch s.provider {
	case qcName:
		m.e.QuantConnect.Add(target, fake.Member{ID: s.person, Write: rapid.Bool().Draw(t, "write"), LiveControl: rapid.Bool().Draw(t, "liveControl")})
	case ahName:
		role := rapid.SampledFrom([]string{"collaborator", "administrator"}).Draw(t, "role")
		got := m.e.AppHarbor.Add(target, fake.Member{Email: s.person, Role: role})
		m.handAdded[got.ID] = true
		if c != nil && rapid.Bool().Draw(t, "writeIDByHand") {
			// Adopted by hand: the annotation names the new collaborator.
			m.e.Edit(c, func() { metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, got.ID) })
			m.touch(s)
			note = " and written to the object's external-id"
		}
	default:
		m.e.WebTranslateIt.Add(fake.Organization, fake.Member{ID: s.person})
		m.state[s.person].wtiUnseen = true
	}
	m.state[s.person].released = false
	m.logf("add %s by hand%s: %s", s.person, note, m.describe(s))
}

func (m *trustModel) handRemove(t *rapid.T) {
	s, _ := m.drawSlot(t, func(s slot, _ *collabv1alpha1.Collaborator) bool { _, ok := m.held(s); return ok })
	got, _ := m.held(s)
	m.e.Provider(s.provider).Remove(ct.Target(s.provider), got.ID)
	m.logf("remove %s by hand: %s", s.person, m.describe(s))
}

func (m *trustModel) passStep(t *rapid.T) {
	s, _ := m.drawSlot(t, exists)
	m.logf("pass %s", s.name)
	m.pass(s, nil)
}

// passAll reconciles every object once, in order, as a manager does after
// a start or a ProviderConfig change.
func (m *trustModel) passAll(*rapid.T) {
	m.logf("pass every object")
	for _, s := range modelSlots {
		if m.prev[s.name] != nil {
			m.pass(s, nil)
		}
	}
}

// requestReconcile sets collab.dev/reconcile-requested-at, which asks for
// a pass with a fresh read, and runs it.
func (m *trustModel) requestReconcile(t *rapid.T) {
	s, c := m.drawSlot(t, exists)
	m.e.Edit(c, func() {
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.ReconcileRequestedAtAnnotation, strconv.Itoa(m.step))
	})
	m.touch(s)
	m.logf("request a reconcile of %s", s.name)
	m.pass(s, nil)
}
