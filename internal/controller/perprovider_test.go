package controller

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// providerCase sets one provider up for the tests that run for each.
type providerCase struct {
	// configure creates the provider's Secret and ProviderConfig.
	configure func(f *fixture)
	// collaborator returns a Collaborator of that provider.
	collaborator func() *collabv1alpha1.Collaborator
	// present reports whether the provider holds the person.
	present func(f *fixture) bool
	// deletes counts the delete requests the provider received.
	deletes func(f *fixture) int
	// creates counts the create requests the provider received.
	creates func(f *fixture) int
	// existing puts the person at the provider out of band and returns the
	// provider's id, as a backup of the object would carry it.
	existing func(f *fixture) string
}

func providerCases() map[string]providerCase {
	count := func(kit func(f *fixture) *simkit.Kit, pred func(simkit.RequestRecord) bool) func(f *fixture) int {
		return func(f *fixture) int { return kit(f).CountWhere(pred) }
	}
	qcKit := func(f *fixture) *simkit.Kit { return f.qc.Kit }
	ahKit := func(f *fixture) *simkit.Kit { return f.ah.Kit }
	wtiKit := func(f *fixture) *simkit.Kit { return f.wti.Kit }
	pathEnds := func(suffix string) func(simkit.RequestRecord) bool {
		return func(r simkit.RequestRecord) bool { return strings.HasSuffix(r.Path, suffix) }
	}
	method := func(m string) func(simkit.RequestRecord) bool {
		return func(r simkit.RequestRecord) bool { return r.Method == m }
	}
	return map[string]providerCase{
		"QuantConnect": {
			configure:    func(f *fixture) { f.quantConnectConfig(time.Minute) },
			collaborator: func() *collabv1alpha1.Collaborator { return qcCollaborator("p", "qc", "noah", true, false) },
			present:      func(f *fixture) bool { _, ok := qcMember(f, "noah"); return ok },
			deletes:      count(qcKit, pathEnds("/collaboration/delete")),
			creates:      count(qcKit, pathEnds("/collaboration/create")),
			existing: func(f *fixture) string {
				must(f.t, f.qc.SetCollaborator(qcProject, "noah", false, false))
				return strconv.Itoa(200003)
			},
		},
		"AppHarbor": {
			configure: func(f *fixture) { f.appHarborConfig(time.Minute) },
			collaborator: func() *collabv1alpha1.Collaborator {
				return ahCollaborator("p", "dave@example.com", collabv1alpha1.AppHarborRoleAdministrator)
			},
			present: func(f *fixture) bool { _, ok := ahHolds(f, "dave@example.com"); return ok },
			deletes: count(ahKit, method(http.MethodDelete)),
			creates: count(ahKit, method(http.MethodPost)),
			existing: func(f *fixture) string {
				id, err := f.ah.AddCollaborator(ahApp, "dave@example.com", "collaborator")
				must(f.t, err)
				return id
			},
		},
		"WebTranslateIt": {
			configure:    func(f *fixture) { f.webTranslateItConfig() },
			collaborator: func() *collabv1alpha1.Collaborator { return wtiCollaborator("p", "carol@example.com") },
			present:      func(f *fixture) bool { return f.wti.IsMember(wtiToken, "carol@example.com") },
			deletes:      count(wtiKit, method(http.MethodDelete)),
			creates:      func(*fixture) int { return 0 },
			existing:     func(*fixture) string { return "" },
		},
	}
}

// With deletionPolicy Orphan no provider is called on delete, and the
// person stays.
func TestOrphanPerProvider(t *testing.T) {
	for name, pc := range providerCases() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			startManager(t, f.ns, f.reg, managerOptions{})
			pc.configure(f)
			c := pc.collaborator()
			c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
			f.create(c)
			f.waitReady(c.Name)
			if !pc.present(f) {
				t.Fatal("the provider does not hold the person before the delete")
			}
			f.delete(c)
			f.waitGone(c)
			if !pc.present(f) {
				t.Error("Orphan removed the person at the provider")
			}
			if n := pc.deletes(f); n != 0 {
				t.Errorf("%d delete requests with Orphan, want 0", n)
			}
			f.waitEvents(c.Name, "Orphaned")
		})
	}
}

// An object restored from a backup carries the external-id annotation: it
// is adopted, corrected where it differs, and never created again.
func TestAdoptionThroughAnnotationPerProvider(t *testing.T) {
	for name, pc := range providerCases() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			id := pc.existing(f)
			startManager(t, f.ns, f.reg, managerOptions{})
			pc.configure(f)
			c := pc.collaborator()
			if id != "" {
				c.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: id}
			}
			f.create(c)
			c = f.waitReady(c.Name)
			if n := pc.creates(f); n != 0 {
				t.Errorf("%d creates for a restored object, want 0", n)
			}
			if got := c.Annotations[collabv1alpha1.ExternalIDAnnotation]; got != id {
				t.Errorf("external-id annotation = %q, want %q", got, id)
			}
			if !pc.present(f) {
				t.Error("the provider does not hold the person after adoption")
			}
		})
	}
}
