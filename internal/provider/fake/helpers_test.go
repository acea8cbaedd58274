package fake

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

const (
	project int64 = 42
	app           = "shop"
)

var (
	qcProject = provider.Target{ProjectID: project}
	ahApp     = provider.Target{Application: app}
	epoch     = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

func fixedClock() time.Time { return epoch }

// class names an error's class for table comparisons; "ok" is nil.
func class(err error) string {
	if err == nil {
		return "ok"
	}
	return provider.ClassOf(err).String()
}

// ops lists the requests the provider received.
func ops(p *Provider) []Op {
	var out []Op //nolint:prealloc // nil for no requests, as the expected values spell it
	for _, r := range p.Calls() {
		out = append(out, r.Op)
	}
	return out
}

func newClient(t *testing.T, p *Provider, account string) provider.Client {
	t.Helper()
	c, err := p.Factory()(provider.Config{Credentials: p.Credentials(account)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func qcCollaborator(userID string, write, live bool) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: userID, Namespace: "team"},
		Spec: collabv1alpha1.CollaboratorSpec{QuantConnect: &collabv1alpha1.QuantConnectCollaborator{
			ProjectID: project, UserID: userID, Write: write, LiveControl: live}},
	}
}

// ahCollaborator names email; id, when set, is the recorded external id.
func ahCollaborator(email, id string, role collabv1alpha1.AppHarborRole) *collabv1alpha1.Collaborator {
	c := &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "team"},
		Spec: collabv1alpha1.CollaboratorSpec{AppHarbor: &collabv1alpha1.AppHarborCollaborator{
			Application: app, Email: email, Role: role}},
	}
	if id != "" {
		c.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: id}
	}
	return c
}

func wtiCollaborator(email string) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "team"},
		Spec:       collabv1alpha1.CollaboratorSpec{WebTranslateIt: &collabv1alpha1.WebTranslateItCollaborator{Email: email}},
	}
}

// preset builds one provider with a Collaborator whose member is, or is
// not, there; target and id say where to look for it.
type preset struct {
	newProvider func() *Provider
	setup       func(p *Provider, present bool) (col *collabv1alpha1.Collaborator, target provider.Target, id string)
}

var presets = map[string]preset{
	collabv1alpha1.ProviderQuantConnect: {
		newProvider: func() *Provider { return NewQuantConnect(WithClock(fixedClock)) },
		setup: func(p *Provider, present bool) (*collabv1alpha1.Collaborator, provider.Target, string) {
			if present {
				p.Add(qcProject, Member{ID: "alice", Write: true})
			}
			return qcCollaborator("alice", true, false), qcProject, "alice"
		},
	},
	collabv1alpha1.ProviderAppHarbor: {
		newProvider: func() *Provider { return NewAppHarbor(WithClock(fixedClock)) },
		setup: func(p *Provider, present bool) (*collabv1alpha1.Collaborator, provider.Target, string) {
			id := "collab-gone"
			if present {
				id = p.Add(ahApp, Member{Email: "alice@example.com"}).ID
			}
			return ahCollaborator("alice@example.com", id, ""), ahApp, id
		},
	},
	collabv1alpha1.ProviderWebTranslateIt: {
		newProvider: func() *Provider { return NewWebTranslateIt(WithClock(fixedClock)) },
		setup: func(p *Provider, present bool) (*collabv1alpha1.Collaborator, provider.Target, string) {
			if present {
				p.Add(Organization, Member{ID: "alice@example.com"})
			}
			return wtiCollaborator("alice@example.com"), Organization, "alice@example.com"
		},
	},
}
