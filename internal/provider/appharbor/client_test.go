package appharbor_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/appharbor"
	"github.com/collab-dev/collaborator-operator/internal/provider/appharbor/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

const token = "ah-access-T0KEN/with+chars"

var fixedNow = time.Unix(1_800_000_000, 0)

type env struct {
	sim    *sim.Server
	server *httptest.Server
	client provider.Client
}

func newEnv(t testing.TB, opts ...httpapi.Option) *env {
	t.Helper()
	s := sim.New()
	err := s.Seed(sim.Seed{
		Users: []sim.User{
			{ID: "WseYku+3w4HAMf+dIq854Qw/2Qc=", Name: "test", Email: "test@example.com"},
			{Name: "bob", Email: "bob@example.com"},
			{Name: "alice", Email: "alice@example.com"},
		},
		Applications: []sim.Application{
			{Slug: "my-app", Collaborators: []sim.SeedCollaborator{{Email: "test@example.com", Role: "collaborator"}}},
			{Slug: "other-app"},
		},
		Tokens: []sim.Token{{Token: token, Applications: []string{"my-app"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	opts = append([]httpapi.Option{httpapi.WithClock(func() time.Time { return fixedNow }), httpapi.WithTimeout(5 * time.Second)}, opts...)
	c, err := appharbor.NewFactory(opts...)(provider.Config{
		BaseURL:     ts.URL,
		Credentials: provider.Credentials{collabv1alpha1.AppHarborAccessTokenKey: []byte(token)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, server: ts, client: c}
}

func collab(app, email string, role collabv1alpha1.AppHarborRole, id string) *collabv1alpha1.Collaborator {
	c := &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns"},
		Spec: collabv1alpha1.CollaboratorSpec{
			AppHarbor: &collabv1alpha1.AppHarborCollaborator{Application: app, Email: email, Role: role},
		},
	}
	if id != "" {
		c.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: id}
	}
	return c
}

func TestFactoryValidatesCredentials(t *testing.T) {
	tests := map[string]struct {
		creds   provider.Credentials
		wantErr string
	}{
		"ok":           {creds: provider.Credentials{"accessToken": []byte("abc\n")}},
		"missing":      {creds: provider.Credentials{}, wantErr: "accessToken"},
		"empty":        {creds: provider.Credentials{"accessToken": []byte("")}, wantErr: "accessToken"},
		"inner spaces": {creds: provider.Credentials{"accessToken": []byte("a b")}, wantErr: "spaces"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := appharbor.NewFactory()(provider.Config{BaseURL: "https://appharbor.com", Credentials: tc.creds})
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	col := collab("my-app", "bob@example.com", "", "")

	obs, err := e.client.Observe(ctx, col)
	if err != nil || obs.Exists {
		t.Fatalf("observe without id: %+v %v, want absent", obs, err)
	}
	created, err := e.client.Create(ctx, col)
	if err != nil {
		t.Fatal(err)
	}
	held, ok := e.sim.CollaboratorByEmail("my-app", "bob@example.com")
	if !ok || held.ID != created.ExternalID || held.Role != "collaborator" {
		t.Fatalf("simulator holds %+v, client got id %q", held, created.ExternalID)
	}
	col.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: created.ExternalID}

	obs, err = e.client.Observe(ctx, col)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(provider.Observation{Exists: true, UpToDate: true, ExternalID: created.ExternalID}, obs, ignoreObservedAt); diff != "" {
		t.Fatalf("observation (-want +got):\n%s", diff)
	}
	wantStatus := &collabv1alpha1.AppHarborObservation{
		ID: held.ID, UserID: held.UserID, UserName: "bob", Role: "collaborator",
		URL: e.server.URL + "/applications/my-app/collaborators/" + escape(held.ID),
	}
	if diff := cmp.Diff(wantStatus, col.Status.AppHarbor); diff != "" {
		t.Fatalf("status (-want +got):\n%s", diff)
	}

	col.Spec.AppHarbor.Role = collabv1alpha1.AppHarborRoleAdministrator
	if obs, _ = e.client.Observe(ctx, col); obs.UpToDate {
		t.Fatal("role change not seen as drift")
	}
	if err := e.client.Update(ctx, col); err != nil {
		t.Fatal(err)
	}
	if held, _ = e.sim.CollaboratorByEmail("my-app", "bob@example.com"); held.Role != "administrator" {
		t.Fatalf("role %q after update", held.Role)
	}
	if obs, _ = e.client.Observe(ctx, col); !obs.UpToDate {
		t.Fatal("not up to date after update: the list cache was not invalidated")
	}

	if err := e.client.Delete(ctx, col); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sim.CollaboratorByEmail("my-app", "bob@example.com"); ok {
		t.Fatal("still a collaborator")
	}
	if err := e.client.Delete(ctx, col); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if obs, _ = e.client.Observe(ctx, col); obs.Exists {
		t.Fatal("exists after delete")
	}
	if err := e.client.Update(ctx, col); !provider.IsNotFound(err) {
		t.Fatalf("update of a deleted collaborator: %v, want NotFound", err)
	}
}

func escape(id string) string {
	return strings.NewReplacer("/", "%2F").Replace(id)
}

// TestIDsWithReservedCharacters creates several collaborators so that ids
// with '/', '+' and '=' are exercised through every endpoint.
func TestIDsWithReservedCharacters(t *testing.T) {
	e := newEnv(t, httpapi.WithCacheTTL(0))
	ctx := context.Background()
	sawSlash := false
	for _, email := range []string{"bob@example.com", "alice@example.com"} {
		col := collab("my-app", email, "administrator", "")
		created, err := e.client.Create(ctx, col)
		if err != nil {
			t.Fatal(err)
		}
		sawSlash = sawSlash || strings.ContainsAny(created.ExternalID, "/+")
		col.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: created.ExternalID}
		if obs, err := e.client.Observe(ctx, col); err != nil || !obs.UpToDate {
			t.Fatalf("observe %q: %+v %v", created.ExternalID, obs, err)
		}
		// Out-of-band removal from the list but a direct read: the GET path.
		if err := e.client.Delete(ctx, col); err != nil {
			t.Fatalf("delete %q: %v", created.ExternalID, err)
		}
	}
	if !sawSlash {
		t.Fatal("the simulator never produced an id needing escaping")
	}
	if got := e.sim.CountWhere(func(r simRecord) bool { return r.Status == http.StatusNotFound }); got != 0 {
		t.Fatalf("%d requests hit 404: %v", got, e.sim.Requests())
	}
}

func TestObserveFallsBackToDirectRead(t *testing.T) {
	e := newEnv(t, httpapi.WithCacheTTL(time.Hour))
	ctx := context.Background()
	seeded := e.sim.Collaborators("my-app")[0]
	col := collab("my-app", "test@example.com", "collaborator", seeded.ID)
	if obs, err := e.client.Observe(ctx, col); err != nil || !obs.Exists {
		t.Fatalf("%+v %v", obs, err)
	}
	// Added out of band after the list was cached: found by GET.
	id, err := e.sim.AddCollaborator("my-app", "alice@example.com", "collaborator")
	if err != nil {
		t.Fatal(err)
	}
	alice := collab("my-app", "alice@example.com", "collaborator", id)
	obs, err := e.client.Observe(ctx, alice)
	if err != nil || !obs.Exists || alice.Status.AppHarbor.UserName != "alice" {
		t.Fatalf("%+v %v %+v", obs, err, alice.Status.AppHarbor)
	}
	// An id that does not exist: absent.
	ghost := collab("my-app", "ghost@example.com", "collaborator", "no/such+id=")
	if obs, err := e.client.Observe(ctx, ghost); err != nil || obs.Exists {
		t.Fatalf("ghost: %+v %v", obs, err)
	}
}

// A person invited again by hand has a new collaborator id: the user the
// status recorded is recognised in the list under it, so the operator
// finds (and can remove) them.
func TestObserveRecognisesTheSameUserUnderANewID(t *testing.T) {
	e := newEnv(t, httpapi.WithCacheTTL(0))
	ctx := context.Background()
	id, err := e.sim.AddCollaborator("my-app", "alice@example.com", "collaborator")
	if err != nil {
		t.Fatal(err)
	}
	alice := collab("my-app", "alice@example.com", "collaborator", id)
	if obs, err := e.client.Observe(ctx, alice); err != nil || !obs.Exists {
		t.Fatalf("%+v %v", obs, err)
	}
	if !e.sim.RemoveCollaborator("my-app", id) {
		t.Fatal("setup: alice not removed")
	}
	again, err := e.sim.AddCollaborator("my-app", "alice@example.com", "administrator")
	if err != nil || again == id {
		t.Fatalf("setup: re-invited as %q (%v)", again, err)
	}
	obs, err := e.client.Observe(ctx, alice)
	if err != nil || !obs.Exists || obs.ExternalID != again || obs.UpToDate {
		t.Fatalf("observation %+v (%v), want alice found as %q with another role", obs, err, again)
	}
	// Without a recorded user there is nobody to recognise.
	stranger := collab("my-app", "alice@example.com", "collaborator", id)
	if obs, err := e.client.Observe(ctx, stranger); err != nil || obs.Exists {
		t.Fatalf("without a recorded user: %+v %v", obs, err)
	}
}

func TestErrors(t *testing.T) {
	tests := map[string]struct {
		col       *collabv1alpha1.Collaborator
		op        string
		inject    func(*sim.Server)
		wantClass provider.Class
		wantMsg   string
		wantRetry time.Duration
	}{
		"create unknown email":  {col: collab("my-app", "nobody@example.com", "", ""), op: "create", wantClass: provider.ClassRejected, wantMsg: "nobody@example.com"},
		"create duplicate":      {col: collab("my-app", "test@example.com", "", ""), op: "create", wantClass: provider.ClassRejected, wantMsg: "already a collaborator"},
		"create unknown app":    {col: collab("nope", "bob@example.com", "", ""), op: "create", wantClass: provider.ClassRejected, wantMsg: "Application not found"},
		"create forbidden app":  {col: collab("other-app", "bob@example.com", "", ""), op: "create", wantClass: provider.ClassUnauthorized, wantMsg: "Forbidden"},
		"observe forbidden app": {col: collab("other-app", "bob@example.com", "", "x"), op: "observe", wantClass: provider.ClassUnauthorized},
		"delete forbidden app":  {col: collab("other-app", "bob@example.com", "", "x"), op: "delete", wantClass: provider.ClassUnauthorized},
		"402": {col: collab("my-app", "bob@example.com", "", ""), op: "create", wantClass: provider.ClassRejected, wantMsg: "Upgrade",
			inject: func(s *sim.Server) { s.FailNext(1, 402, `{"error":{"message":"Upgrade your plan"}}`) }},
		"500": {col: collab("my-app", "bob@example.com", "", ""), op: "create", wantClass: provider.ClassUnavailable, wantMsg: "boom",
			inject: func(s *sim.Server) { s.FailNext(1, 500, `{"error":{"message":"boom"}}`) }},
		"503 text": {col: collab("my-app", "bob@example.com", "", "x"), op: "observe", wantClass: provider.ClassUnavailable, wantMsg: "down",
			inject: func(s *sim.Server) { s.FailNext(1, 503, `down for maintenance`) }},
		"429": {col: collab("my-app", "bob@example.com", "", "x"), op: "delete", wantClass: provider.ClassRateLimited, wantRetry: 3 * time.Second,
			inject: func(s *sim.Server) { s.RateLimitNext(1, "3", `{"error":{"message":"slow down"}}`) }},
		"dropped": {col: collab("my-app", "bob@example.com", "", "x"), op: "update", wantClass: provider.ClassUnavailable, wantMsg: "connection",
			inject: func(s *sim.Server) { s.DropNext(1) }},
		"slow": {col: collab("my-app", "bob@example.com", "", ""), op: "create", wantClass: provider.ClassUnavailable, wantMsg: "timed out",
			inject: func(s *sim.Server) { s.DelayNext(1, time.Minute) }},
		"201 without Location": {col: collab("my-app", "bob@example.com", "", ""), op: "create", wantClass: provider.ClassUnavailable, wantMsg: "Location",
			inject: func(s *sim.Server) { s.FailNext(1, 201, ``) }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, httpapi.WithTimeout(100*time.Millisecond))
			if tc.inject != nil {
				tc.inject(e.sim)
			}
			ctx := context.Background()
			var err error
			switch tc.op {
			case "create":
				_, err = e.client.Create(ctx, tc.col)
			case "observe":
				_, err = e.client.Observe(ctx, tc.col)
			case "update":
				err = e.client.Update(ctx, tc.col)
			case "delete":
				err = e.client.Delete(ctx, tc.col)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *provider.Error", err)
			}
			if pe.Class != tc.wantClass || pe.RetryAfter != tc.wantRetry || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %q class %v retry %v, want %v %v mentioning %q", err, pe.Class, pe.RetryAfter, tc.wantClass, tc.wantRetry, tc.wantMsg)
			}
		})
	}
}

func TestIDFromURL(t *testing.T) {
	req := mustParse(t, "https://appharbor.com/applications/my-app/collaborators")
	tests := map[string]struct {
		in      string
		want    string
		wantErr bool
	}{
		"absolute":          {in: "https://appharbor.com/applications/a/collaborators/abc", want: "abc"},
		"relative":          {in: "/applications/a/collaborators/abc", want: "abc"},
		"relative no slash": {in: "collaborators/abc", want: "abc"},
		"escaped slash":     {in: "https://x/applications/a/collaborators/Wse%2FYk+u=", want: "Wse/Yk+u="},
		"trailing slash":    {in: "https://x/applications/a/collaborators/abc/", want: "abc"},
		"with query":        {in: "https://x/applications/a/collaborators/abc?x=1", want: "abc"},
		"empty":             {in: "", wantErr: true},
		"collection":        {in: "https://x/applications/a/collaborators", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := appharbor.IDFromURL(tc.in, req)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("IDFromURL(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestConcurrentObservesShareReads: N Observes over M applications cost M
// list reads.
func TestConcurrentObservesShareReads(t *testing.T) {
	const apps, perApp = 4, 30
	e, cols := newScaleEnv(t, apps, perApp)
	e.sim.ResetLog()
	var wg sync.WaitGroup
	for _, col := range cols {
		wg.Go(func() {
			obs, err := e.client.Observe(context.Background(), col)
			if err != nil || !obs.Exists {
				t.Errorf("%+v %v", obs, err)
			}
		})
	}
	wg.Wait()
	if got := e.sim.RequestCount(); got != apps {
		t.Fatalf("%d requests for %d Observes over %d applications, want %d", got, len(cols), apps, apps)
	}
}

func newScaleEnv(t testing.TB, apps, perApp int) (*env, []*collabv1alpha1.Collaborator) {
	t.Helper()
	s := sim.New()
	var seed sim.Seed
	slugs := make([]string, 0, apps)
	for u := range perApp {
		seed.Users = append(seed.Users, sim.User{Name: "user" + string(rune('a'+u%26)) + string(rune('a'+u/26)), Email: "u" + string(rune('a'+u%26)) + string(rune('a'+u/26)) + "@example.com"})
	}
	for a := range apps {
		app := sim.Application{Slug: "app-" + string(rune('a'+a))}
		for _, u := range seed.Users {
			app.Collaborators = append(app.Collaborators, sim.SeedCollaborator{Email: u.Email, Role: "collaborator"})
		}
		seed.Applications = append(seed.Applications, app)
		slugs = append(slugs, app.Slug)
	}
	seed.Tokens = []sim.Token{{Token: token, Applications: slugs}}
	if err := s.Seed(seed); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := appharbor.NewFactory(httpapi.WithCacheTTL(time.Hour))(provider.Config{
		BaseURL: ts.URL, Credentials: provider.Credentials{"accessToken": []byte(token)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var cols []*collabv1alpha1.Collaborator
	for _, slug := range slugs {
		for _, held := range s.Collaborators(slug) {
			cols = append(cols, collab(slug, held.Email, "collaborator", held.ID))
		}
	}
	return &env{sim: s, server: ts, client: c}, cols
}

// BenchmarkObserve reports list reads per Observe over many applications.
func BenchmarkObserve(b *testing.B) {
	e, cols := newScaleEnv(b, 10, 50)
	e.sim.ResetLog()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if _, err := e.client.Observe(ctx, cols[i%len(cols)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(e.sim.RequestCount())/float64(b.N), "reads/op")
}

type simRecord = simkit.RequestRecord

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ignoreObservedAt leaves out when the snapshot was fetched, which the
// tests of what was observed do not control.
var ignoreObservedAt = cmpopts.IgnoreFields(provider.Observation{}, "ObservedAt", "Difference")
