package scale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ahsim "github.com/collab-dev/collaborator-operator/internal/provider/appharbor/sim"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
	wtisim "github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit/sim"
)

// The shape of the population: the 50 projects and 10 applications.
const (
	projects     = 50
	applications = 10
	// ns holds every object of the benchmark.
	ns = "scale"
	// Credentials the simulators are seeded with; fake, loopback only.
	qcOwnerUID = 100001
	qcToken    = "scale-qc-token-not-a-secret"  //nolint:gosec // G101: a simulator's fake token
	ahToken    = "scale-ah-token-not-a-secret"  //nolint:gosec // G101: a simulator's fake token
	wtiToken   = "scale-wti-token-not-a-secret" //nolint:gosec // G101: a simulator's fake token
	qcProject0 = 30000000
)

// ProviderConfig names, one per provider; each has its own credentials and
// so its own request budget.
const (
	pcQC  = "quantconnect"
	pcAH  = "appharbor"
	pcWTI = "webtranslateit"
)

// population is the N Collaborators of one run and what the simulators
// must hold for them.
type population struct {
	// objs are the Collaborators in creation order: the providers are
	// shuffled together, so both halves have the same mix.
	objs          []*collabv1alpha1.Collaborator
	qc, ah, wti   int
	qcKeys, ahKey int
}

// newPopulation splits n as 1% WebTranslateIt (which has no create or read
// API, so costs no provider call), and the rest as 5 QuantConnect to 1
// AppHarbor, the ratio of the 50 projects to 10 applications.
func newPopulation(n int) *population {
	p := &population{wti: n / 100}
	p.ah = (n - p.wti) / 6
	p.qc = n - p.wti - p.ah
	p.qcKeys, p.ahKey = min(p.qc, projects), min(p.ah, applications)
	for i := range p.qc {
		c := collaborator(fmt.Sprintf("qc-%05d", i), pcQC)
		c.Spec.QuantConnect = &collabv1alpha1.QuantConnectCollaborator{
			ProjectID: qcProject0 + int64(i%projects), UserID: qcUser(i), Write: i%2 == 0, LiveControl: i%3 == 0,
		}
		p.objs = append(p.objs, c)
	}
	for i := range p.ah {
		c := collaborator(fmt.Sprintf("ah-%05d", i), pcAH)
		role := collabv1alpha1.AppHarborRoleCollaborator
		if i%5 == 0 {
			role = collabv1alpha1.AppHarborRoleAdministrator
		}
		c.Spec.AppHarbor = &collabv1alpha1.AppHarborCollaborator{
			Application: ahApp(i % applications), Email: ahEmail(i), Role: role,
		}
		p.objs = append(p.objs, c)
	}
	for i := range p.wti {
		c := collaborator(fmt.Sprintf("wti-%05d", i), pcWTI)
		c.Spec.WebTranslateIt = &collabv1alpha1.WebTranslateItCollaborator{Email: wtiEmail(i)}
		p.objs = append(p.objs, c)
	}
	// A fixed seed: every run creates the same objects in the same order.
	rng := rand.New(rand.NewPCG(10, 10)) //nolint:gosec // G404: a reproducible order, not a secret
	rng.Shuffle(len(p.objs), func(i, j int) { p.objs[i], p.objs[j] = p.objs[j], p.objs[i] })
	return p
}

func collaborator(name, pc string) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       collabv1alpha1.CollaboratorSpec{ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: pc}},
	}
}

func qcUser(i int) string   { return fmt.Sprintf("qc-user-%05d", i) }
func ahApp(i int) string    { return fmt.Sprintf("scale-app-%02d", i) }
func ahEmail(i int) string  { return fmt.Sprintf("ah-user-%05d@example.com", i) }
func wtiEmail(i int) string { return fmt.Sprintf("wti-user-%05d@example.com", i) }

// keys is the number of (credentials, project or application) pairs: the
// physical minimum of list reads per sync interval.
func (p *population) keys() int { return p.qcKeys + p.ahKey }

// creates is the number of Collaborators that need a create call.
func (p *population) creates() int { return p.qc + p.ah }

// writeSeed writes the simulator seed file: every user the Collaborators
// name, the projects and applications (empty: every Collaborator is a new
// collaborator), and the credentials of the three ProviderConfigs.
func (p *population) writeSeed(path string) error {
	qc := qcsim.Seed{Users: []qcsim.User{{UID: qcOwnerUID, PublicID: "scale-owner", Name: "Owner", APIToken: qcToken}}}
	for i := range p.qc {
		qc.Users = append(qc.Users, qcsim.User{UID: int64(200000 + i), PublicID: qcUser(i), Name: qcUser(i)})
	}
	for i := range projects {
		qc.Projects = append(qc.Projects, qcsim.Project{ID: qcProject0 + int64(i), Owner: "scale-owner"})
	}
	ah := ahsim.Seed{}
	tok := ahsim.Token{Token: ahToken}
	for i := range applications {
		ah.Applications = append(ah.Applications, ahsim.Application{Slug: ahApp(i)})
		tok.Applications = append(tok.Applications, ahApp(i))
	}
	ah.Tokens = []ahsim.Token{tok}
	for i := range p.ah {
		ah.Users = append(ah.Users, ahsim.User{Name: fmt.Sprintf("ah-user-%05d", i), Email: ahEmail(i)})
	}
	org := wtisim.Organization{Name: "scale", Token: wtiToken}
	for i := range p.wti {
		org.Members = append(org.Members, wtiEmail(i))
	}
	data, err := json.Marshal(map[string]any{
		"quantConnect": qc, "appHarbor": ah, "webTranslateIt": wtisim.Seed{Organizations: []wtisim.Organization{org}},
	})
	if err != nil {
		return fmt.Errorf("encoding the simulator seed: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing the simulator seed: %w", err)
	}
	return nil
}

// providerConfigs returns the namespace, the three Secrets and the three
// ProviderConfigs, pointed at the simulators' urls.
func providerConfigs(urls map[string]string, syncInterval time.Duration, rate, burst int) []client.Object {
	secret := func(name string, data map[string]string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	}
	pc := func(name string) *collabv1alpha1.ProviderConfig {
		return &collabv1alpha1.ProviderConfig{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: collabv1alpha1.ProviderConfigSpec{
				SyncInterval: &metav1.Duration{Duration: syncInterval},
				//nolint:gosec // G115: configFromEnv keeps them small positive numbers
				RateLimit: &collabv1alpha1.RateLimit{RequestsPerSecond: int32(rate), Burst: int32(burst)},
			},
		}
	}
	qc, ah, wti := pc(pcQC), pc(pcAH), pc(pcWTI)
	qc.Spec.QuantConnect = &collabv1alpha1.QuantConnectConfig{BaseURL: urls["quantconnect"],
		CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "qc-credentials"}}
	ah.Spec.AppHarbor = &collabv1alpha1.AppHarborConfig{BaseURL: urls["appharbor"],
		CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "ah-credentials"}}
	wti.Spec.WebTranslateIt = &collabv1alpha1.WebTranslateItConfig{BaseURL: urls["webtranslateit"],
		CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "wti-credentials"}}
	return []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		secret("qc-credentials", map[string]string{
			collabv1alpha1.QuantConnectUserIDKey: strconv.Itoa(qcOwnerUID), collabv1alpha1.QuantConnectAPITokenKey: qcToken}),
		secret("ah-credentials", map[string]string{collabv1alpha1.AppHarborAccessTokenKey: ahToken}),
		secret("wti-credentials", map[string]string{collabv1alpha1.WebTranslateItOrganizationTokenKey: wtiToken}),
		qc, ah, wti,
	}
}

// createAll creates objs with workers goroutines, as fast as the API
// server takes them.
func createAll(ctx context.Context, cl client.Client, objs []*collabv1alpha1.Collaborator, workers int) error {
	return schedule(ctx, cl, objs, workers, func(int) time.Time { return time.Time{} })
}

// trickle creates objs evenly spread over d from start: person after
// person, as people are added in real life, each at its own moment.
func trickle(ctx context.Context, cl client.Client, objs []*collabv1alpha1.Collaborator,
	start time.Time, d time.Duration) error {
	step := d / time.Duration(max(len(objs), 1))
	// A few goroutines, so that one slow API-server answer does not delay
	// the next person's moment.
	return schedule(ctx, cl, objs, 8, func(i int) time.Time { return start.Add(time.Duration(i) * step) })
}

// schedule creates objs[i] at at(i) (at once for a zero time), spread over
// workers goroutines by index.
func schedule(ctx context.Context, cl client.Client, objs []*collabv1alpha1.Collaborator, workers int,
	at func(int) time.Time) error {
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(objs); i += workers {
				if t := at(i); !t.IsZero() {
					timer := time.NewTimer(time.Until(t))
					select {
					case <-ctx.Done():
						timer.Stop()
						errs[w] = ctx.Err()
						return
					case <-timer.C:
					}
				}
				if err := cl.Create(ctx, objs[i].DeepCopy()); err != nil {
					errs[w] = fmt.Errorf("creating Collaborator %s: %w", objs[i].Name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readiness is one poll of every Collaborator.
type readiness struct {
	ready, total int
	// lastReady is the latest Ready=True transition: when the last object
	// became Ready, to the second (the API's time resolution), whenever the
	// poll ran.
	lastReady time.Time
	// notReady counts the others by Ready reason, for a failure message.
	notReady map[string]int
}

// pollReady lists every Collaborator, a page at a time so that 10,000
// objects never make one huge answer.
func pollReady(ctx context.Context, cl client.Client) (readiness, error) {
	r := readiness{notReady: map[string]int{}}
	opts := []client.ListOption{client.InNamespace(ns), client.Limit(1000)}
	for {
		list := &collabv1alpha1.CollaboratorList{}
		if err := cl.List(ctx, list, opts...); err != nil {
			return r, fmt.Errorf("listing Collaborators: %w", err)
		}
		for i := range list.Items {
			r.total++
			cond := meta.FindStatusCondition(list.Items[i].Status.Conditions, collabv1alpha1.ConditionReady)
			if cond == nil || cond.Status != metav1.ConditionTrue {
				reason := "NoStatus"
				if cond != nil {
					reason = cond.Reason
				}
				r.notReady[reason]++
				continue
			}
			r.ready++
			if t := cond.LastTransitionTime.Time; t.After(r.lastReady) {
				r.lastReady = t
			}
		}
		if list.Continue == "" {
			return r, nil
		}
		opts = []client.ListOption{client.InNamespace(ns), client.Limit(1000), client.Continue(list.Continue)}
	}
}

// eventReasons counts the Events in the namespace by reason: Created once
// per Collaborator is the expectation; Adopted or Updated during a cold
// start mean a pass saw an older object or list than its own write.
func eventReasons(ctx context.Context, cl client.Client) (map[string]float64, error) {
	out := map[string]float64{}
	opts := []client.ListOption{client.InNamespace(ns), client.Limit(1000)}
	for {
		list := &eventsv1.EventList{}
		if err := cl.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("listing Events: %w", err)
		}
		for i := range list.Items {
			n := 1
			if list.Items[i].Series != nil {
				n = int(list.Items[i].Series.Count)
			}
			out[list.Items[i].Reason] += float64(n)
		}
		if list.Continue == "" {
			return out, nil
		}
		opts = []client.ListOption{client.InNamespace(ns), client.Limit(1000), client.Continue(list.Continue)}
	}
}
