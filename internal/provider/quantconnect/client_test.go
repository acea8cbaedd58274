package quantconnect_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/quantconnect"
	"github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
)

const (
	ownerAPIID = "1001"
	ownerToken = "qc-owner-token-5ecret" //nolint:gosec // G101: fake test credential for the simulator
	projectID  = int64(23456789)
)

var fixedNow = time.Unix(1_800_000_000, 0)

func clock() time.Time { return fixedNow }

func seed() sim.Seed {
	return sim.Seed{
		Users: []sim.User{
			{UID: 1001, PublicID: "owner-ann", Name: "Ann", Email: "ann@example.com", APIToken: ownerToken},
			{UID: 1002, PublicID: "mia-ai", Name: "Mia", Email: "mia@example.com"},
			{UID: 1003, PublicID: "bob", Name: "Bob", Email: "bob@example.com"},
			{UID: 1004, PublicID: "other-owner", Name: "Olga", APIToken: "other-token"},
		},
		Projects: []sim.Project{
			{ID: projectID, Owner: "owner-ann", Collaborators: []sim.Member{{UserID: "bob", LiveControl: false, Write: true}}},
			{ID: 777, Owner: "other-owner"},
		},
	}
}

type env struct {
	sim    *sim.Server
	server *httptest.Server
	client provider.Client
}

func newEnv(t testing.TB, opts ...httpapi.Option) *env {
	t.Helper()
	s := sim.New(sim.WithClock(clock))
	if err := s.Seed(seed()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	opts = append([]httpapi.Option{httpapi.WithClock(clock), httpapi.WithTimeout(5 * time.Second)}, opts...)
	c, err := quantconnect.NewFactory(opts...)(provider.Config{
		BaseURL: ts.URL + sim.PathPrefix,
		Credentials: provider.Credentials{
			collabv1alpha1.QuantConnectUserIDKey:   []byte(ownerAPIID),
			collabv1alpha1.QuantConnectAPITokenKey: []byte(ownerToken),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, server: ts, client: c}
}

func collab(project int64, user string, live, write bool) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns"},
		Spec: collabv1alpha1.CollaboratorSpec{
			QuantConnect: &collabv1alpha1.QuantConnectCollaborator{ProjectID: project, UserID: user, LiveControl: live, Write: write},
		},
	}
}

func TestFactoryValidatesCredentials(t *testing.T) {
	tests := map[string]struct {
		creds   provider.Credentials
		baseURL string
		wantErr string
	}{
		"ok":             {creds: provider.Credentials{"userID": []byte("1"), "apiToken": []byte("t\n")}},
		"missing token":  {creds: provider.Credentials{"userID": []byte("1")}, wantErr: "apiToken"},
		"empty user":     {creds: provider.Credentials{"userID": []byte(" "), "apiToken": []byte("t")}, wantErr: "userID"},
		"bad base URL":   {creds: provider.Credentials{"userID": []byte("1"), "apiToken": []byte("t")}, baseURL: "ftp://x", wantErr: "absolute http"},
		"colon in user":  {creds: provider.Credentials{"userID": []byte("a:b"), "apiToken": []byte("t")}, wantErr: "':'"},
		"default base":   {creds: provider.Credentials{"userID": []byte("1"), "apiToken": []byte("t")}, baseURL: ""},
		"relative base":  {creds: provider.Credentials{"userID": []byte("1"), "apiToken": []byte("t")}, baseURL: "/api/v2", wantErr: "absolute"},
		"trailing slash": {creds: provider.Credentials{"userID": []byte("1"), "apiToken": []byte("t")}, baseURL: "https://x/api/v2/"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			base := tc.baseURL
			if base == "" && name != "default base" {
				base = "https://example.com/api/v2"
			}
			_, err := quantconnect.NewFactory()(provider.Config{BaseURL: base, Credentials: tc.creds})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "t\n") {
				t.Fatal("error holds the token")
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	a, ok := e.client.(provider.Authenticator)
	if !ok {
		t.Fatal("QuantConnect client is not a provider.Authenticator")
	}
	if err := a.Authenticate(context.Background()); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	bad, err := quantconnect.NewFactory(httpapi.WithClock(clock))(provider.Config{
		BaseURL:     e.server.URL + sim.PathPrefix + "/",
		Credentials: provider.Credentials{"userID": []byte(ownerAPIID), "apiToken": []byte("wrong")},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.(provider.Authenticator).Authenticate(context.Background())
	if got := provider.ClassOf(err); got != provider.ClassUnauthorized {
		t.Fatalf("class %v (%v), want Unauthorized", got, err)
	}
	recs := e.sim.Requests()
	if recs[0].Path != "/api/v2/authenticate" || recs[1].Path != "/api/v2/authenticate" {
		t.Fatalf("paths %v, want /api/v2/authenticate with and without trailing slash in the base URL", recs)
	}
}

func TestObserve(t *testing.T) {
	tests := map[string]struct {
		col        *collabv1alpha1.Collaborator
		want       provider.Observation
		wantStatus *collabv1alpha1.QuantConnectObservation
		wantClass  provider.Class
	}{
		"absent": {col: collab(projectID, "mia-ai", false, false)},
		"present up to date": {
			col:        collab(projectID, "bob", false, true),
			want:       provider.Observation{Exists: true, UpToDate: true, ExternalID: "1003"},
			wantStatus: &collabv1alpha1.QuantConnectObservation{UID: 1003, PublicID: "bob", Name: "Bob", Email: "bob@example.com", Permission: "write"},
		},
		"present permission drift": {
			col:        collab(projectID, "bob", false, false),
			want:       provider.Observation{Exists: true, ExternalID: "1003"},
			wantStatus: &collabv1alpha1.QuantConnectObservation{UID: 1003, PublicID: "bob", Name: "Bob", Email: "bob@example.com", Permission: "write"},
		},
		"present live control drift": {
			col:        collab(projectID, "bob", true, true),
			want:       provider.Observation{Exists: true, ExternalID: "1003"},
			wantStatus: &collabv1alpha1.QuantConnectObservation{UID: 1003, PublicID: "bob", Name: "Bob", Email: "bob@example.com", Permission: "write"},
		},
		"case differs": {
			col:        collab(projectID, "BOB", false, true),
			want:       provider.Observation{Exists: true, UpToDate: true, ExternalID: "1003"},
			wantStatus: &collabv1alpha1.QuantConnectObservation{UID: 1003, PublicID: "bob", Name: "Bob", Email: "bob@example.com", Permission: "write"},
		},
		"owner is reported, never managed": {
			col:        collab(projectID, "owner-ann", false, false),
			want:       provider.Observation{Exists: true, UpToDate: true, ExternalID: "1001"},
			wantStatus: &collabv1alpha1.QuantConnectObservation{UID: 1001, PublicID: "owner-ann", Name: "Ann", Email: "ann@example.com", Permission: "write", LiveControl: true, Owner: true},
		},
		"unknown project":          {col: collab(999, "bob", false, false), wantClass: provider.ClassRejected},
		"project of another owner": {col: collab(777, "bob", false, false), wantClass: provider.ClassRejected},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			got, err := e.client.Observe(context.Background(), tc.col)
			if tc.wantClass != provider.ClassUnknown {
				if provider.ClassOf(err) != tc.wantClass {
					t.Fatalf("class %v (%v), want %v", provider.ClassOf(err), err, tc.wantClass)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, ignoreObservedAt); diff != "" {
				t.Errorf("observation (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantStatus, tc.col.Status.QuantConnect); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	tests := map[string]struct {
		col       *collabv1alpha1.Collaborator
		wantID    string
		wantClass provider.Class
		wantMsg   string
	}{
		"new":                  {col: collab(projectID, "mia-ai", true, true), wantID: "1002"},
		"existing: idempotent": {col: collab(projectID, "bob", false, true), wantID: "1003"},
		"unknown user":         {col: collab(projectID, "nobody", false, false), wantClass: provider.ClassRejected, wantMsg: "nobody"},
		"unknown project":      {col: collab(4242, "mia-ai", false, false), wantClass: provider.ClassRejected, wantMsg: "4242"},
		"not our project":      {col: collab(777, "mia-ai", false, false), wantClass: provider.ClassRejected, wantMsg: "permission"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			got, err := e.client.Create(context.Background(), tc.col)
			if tc.wantClass != provider.ClassUnknown {
				if provider.ClassOf(err) != tc.wantClass || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("error %v (class %v), want %v mentioning %q", err, provider.ClassOf(err), tc.wantClass, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ExternalID != tc.wantID {
				t.Errorf("external id %q, want %q", got.ExternalID, tc.wantID)
			}
			s := tc.col.Spec.QuantConnect
			m, ok := e.sim.Member(s.ProjectID, s.UserID)
			if !ok || m.Write != s.Write && name == "new" || m.LiveControl != s.LiveControl {
				t.Errorf("simulator holds %+v (%v), want spec %+v", m, ok, s)
			}
			if tc.col.Status.QuantConnect == nil || tc.col.Status.QuantConnect.PublicID != s.UserID {
				t.Errorf("status not filled: %+v", tc.col.Status.QuantConnect)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	e := newEnv(t)
	col := collab(projectID, "bob", true, false)
	if err := e.client.Update(context.Background(), col); err != nil {
		t.Fatal(err)
	}
	if m, _ := e.sim.Member(projectID, "bob"); m != (sim.Member{UserID: "bob", LiveControl: true, Write: false}) {
		t.Fatalf("member %+v after update", m)
	}
	if col.Status.QuantConnect.Permission != "read" || !col.Status.QuantConnect.LiveControl {
		t.Fatalf("status %+v", col.Status.QuantConnect)
	}
	obs, err := e.client.Observe(context.Background(), col)
	if err != nil || !obs.UpToDate {
		t.Fatalf("observe after update: %+v %v", obs, err)
	}

	// Removed out of band: the update is refused and the read shows it gone.
	e.sim.RemoveCollaborator(projectID, "bob")
	err = e.client.Update(context.Background(), col)
	if !provider.IsNotFound(err) {
		t.Fatalf("update of a removed collaborator: %v (class %v), want NotFound", err, provider.ClassOf(err))
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.client.Delete(ctx, collab(projectID, "bob", false, true)); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sim.Member(projectID, "bob"); ok {
		t.Fatal("bob still a collaborator")
	}
	if err := e.client.Delete(ctx, collab(projectID, "bob", false, true)); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if err := e.client.Delete(ctx, collab(projectID, "owner-ann", false, true)); err != nil {
		t.Fatalf("delete of the owner: %v", err)
	}
	list, _ := e.sim.Collaborators(projectID)
	if len(list) != 1 || !list[0].Owner {
		t.Fatalf("owner gone: %+v", list)
	}
	if err := e.client.Delete(ctx, collab(4242, "bob", false, true)); provider.ClassOf(err) != provider.ClassRejected {
		t.Fatalf("delete on an unknown project: %v, want Rejected", err)
	}
}

func TestObserveSeesOutOfBandChangesAfterTTL(t *testing.T) {
	e := newEnv(t, httpapi.WithCacheTTL(0))
	col := collab(projectID, "bob", false, true)
	if obs, _ := e.client.Observe(context.Background(), col); !obs.UpToDate {
		t.Fatal("expected up to date")
	}
	if err := e.sim.SetCollaborator(projectID, "bob", true, true); err != nil {
		t.Fatal(err)
	}
	if obs, _ := e.client.Observe(context.Background(), col); obs.UpToDate || !obs.Exists {
		t.Fatalf("drift not seen: %+v", obs)
	}
}

func TestWriteAnswersReplaceCachedList(t *testing.T) {
	e := newEnv(t, httpapi.WithCacheTTL(time.Hour))
	ctx := context.Background()
	mia := collab(projectID, "mia-ai", false, false)
	if obs, _ := e.client.Observe(ctx, mia); obs.Exists {
		t.Fatal("mia exists before create")
	}
	if _, err := e.client.Create(ctx, mia); err != nil {
		t.Fatal(err)
	}
	before := e.sim.RequestCount()
	if obs, _ := e.client.Observe(ctx, mia); !obs.Exists {
		t.Fatal("cached list not replaced by the create's answer")
	}
	if err := e.client.Delete(ctx, mia); err != nil {
		t.Fatal(err)
	}
	if obs, _ := e.client.Observe(ctx, mia); obs.Exists {
		t.Fatal("cached list not replaced by the delete's answer")
	}
	if got := e.sim.RequestCount() - before; got != 1 {
		t.Fatalf("%d requests for observe+delete+observe, want only the delete", got)
	}
}

func TestFaults(t *testing.T) {
	tests := map[string]struct {
		inject     func(*sim.Server)
		wantClass  provider.Class
		wantStatus int
		wantRetry  time.Duration
		wantMsg    string
	}{
		"500": {inject: func(s *sim.Server) { s.FailNext(1, 500, `{"success":false,"errors":["boom"]}`) },
			wantClass: provider.ClassUnavailable, wantStatus: 500, wantMsg: "boom"},
		"503 non-JSON": {inject: func(s *sim.Server) { s.FailNext(1, 503, `<html>maintenance</html>`) },
			wantClass: provider.ClassUnavailable, wantStatus: 503, wantMsg: "maintenance"},
		"429 seconds": {inject: func(s *sim.Server) { s.RateLimitNext(1, "7", "") },
			wantClass: provider.ClassRateLimited, wantStatus: 429, wantRetry: 7 * time.Second},
		"429 date": {inject: func(s *sim.Server) {
			s.RateLimitNext(1, fixedNow.Add(90*time.Second).UTC().Format(http.TimeFormat), "")
		}, wantClass: provider.ClassRateLimited, wantStatus: 429, wantRetry: 90 * time.Second},
		"dropped connection": {inject: func(s *sim.Server) { s.DropNext(1) }, wantClass: provider.ClassUnavailable, wantMsg: "connection"},
		"slow":               {inject: func(s *sim.Server) { s.DelayNext(1, time.Minute) }, wantClass: provider.ClassUnavailable, wantMsg: "timed out after 100ms"},
		"200 success=false": {inject: func(s *sim.Server) {
			s.FailNext(1, 200, `{"success":false,"errors":["Something odd happened."]}`)
		}, wantClass: provider.ClassRejected, wantStatus: 200, wantMsg: "Something odd happened."},
		"200 not JSON": {inject: func(s *sim.Server) { s.FailNext(1, 200, `hello`) }, wantClass: provider.ClassUnavailable, wantStatus: 200},
		"401":          {inject: func(s *sim.Server) { s.FailNext(1, 401, ``) }, wantClass: provider.ClassUnauthorized, wantStatus: 401},
		// QuantConnect refuses with 200 and success:false: a 404 is a wrong
		// path or a proxy, never its word that something is absent.
		"404 page": {inject: func(s *sim.Server) { s.FailNext(1, 404, `<html>Not Found</html>`) },
			wantClass: provider.ClassUnavailable, wantStatus: 404, wantMsg: "Not Found"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, httpapi.WithCacheTTL(0), httpapi.WithTimeout(100*time.Millisecond))
			tc.inject(e.sim)
			_, err := e.client.Observe(context.Background(), collab(projectID, "bob", false, true))
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *provider.Error", err)
			}
			got := struct {
				Class  provider.Class
				Status int
				Retry  time.Duration
			}{pe.Class, pe.StatusCode, pe.RetryAfter}
			want := struct {
				Class  provider.Class
				Status int
				Retry  time.Duration
			}{tc.wantClass, tc.wantStatus, tc.wantRetry}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error %v (-want +got):\n%s", err, diff)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q lacks %q", err, tc.wantMsg)
			}
			// The fault is spent: the next call works.
			if _, err := e.client.Observe(context.Background(), collab(projectID, "bob", false, true)); err != nil {
				t.Errorf("after the fault: %v", err)
			}
		})
	}
}

// A delete answered with 404 pages (a baseURL with a wrong path, a proxy)
// is a failure even when the confirming read gets a 404 page too: the
// person stays, so the delete must not pass for done.
func TestDeleteAnswered404IsAFailure(t *testing.T) {
	e := newEnv(t, httpapi.WithCacheTTL(0))
	e.sim.FailNext(2, 404, `<html>Not Found</html>`)
	err := e.client.Delete(context.Background(), collab(projectID, "bob", false, true))
	if err == nil || provider.IsNotFound(err) {
		t.Fatalf("delete answered 404 = %v (class %s), want a failure that is not NotFound", err, provider.ClassOf(err))
	}
	if _, ok := e.sim.Member(projectID, "bob"); !ok {
		t.Fatal("setup: bob was removed")
	}
}

func TestCreateDuringOutageIsNotTakenForSuccess(t *testing.T) {
	e := newEnv(t)
	e.sim.FailNext(1, 502, "")
	if _, err := e.client.Create(context.Background(), collab(projectID, "mia-ai", false, false)); provider.ClassOf(err) != provider.ClassUnavailable {
		t.Fatalf("create during 502: %v", err)
	}
}

// TestConcurrentObservesShareReads asserts the scale design: N Observes of
// Collaborators spread over M projects cost M reads, not N.
func TestConcurrentObservesShareReads(t *testing.T) {
	const projects, perProject = 5, 40
	e := newScaleEnv(t, projects, perProject)
	e.sim.ResetLog()
	var wg sync.WaitGroup
	errs := make(chan error, projects*perProject)
	for p := range projects {
		for u := range perProject {
			wg.Go(func() {
				obs, err := e.client.Observe(context.Background(), collab(int64(p+1), userName(u), false, false))
				if err == nil && !obs.Exists {
					err = errors.New("collaborator not seen")
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.sim.RequestCount(); got != projects {
		t.Fatalf("%d reads for %d Observes over %d projects, want %d", got, projects*perProject, projects, projects)
	}
}

func userName(i int) string { return fmt.Sprintf("user-%c%c", 'a'+i%26, 'a'+i/26) }

func newScaleEnv(t testing.TB, projects, perProject int) *env {
	t.Helper()
	s := sim.New(sim.WithClock(clock))
	users := make([]sim.User, 0, 1+perProject)
	users = append(users, sim.User{UID: 1, PublicID: "owner", APIToken: ownerToken})
	for u := range perProject {
		users = append(users, sim.User{UID: int64(u + 2), PublicID: userName(u)})
	}
	seed := sim.Seed{Users: users}
	for p := range projects {
		pr := sim.Project{ID: int64(p + 1), Owner: "owner"}
		for u := range perProject {
			pr.Collaborators = append(pr.Collaborators, sim.Member{UserID: userName(u)})
		}
		seed.Projects = append(seed.Projects, pr)
	}
	if err := s.Seed(seed); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := quantconnect.NewFactory(httpapi.WithClock(clock), httpapi.WithCacheTTL(time.Hour))(provider.Config{
		BaseURL:     ts.URL + sim.PathPrefix,
		Credentials: provider.Credentials{"userID": []byte("1"), "apiToken": []byte(ownerToken)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, server: ts, client: c}
}

// BenchmarkObserve reports reads per Observe for N Collaborators over M
// projects; with the shared cache it is about M/N.
func BenchmarkObserve(b *testing.B) {
	const projects, perProject = 20, 100
	e := newScaleEnv(b, projects, perProject)
	e.sim.ResetLog()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p, u := i%projects, (i/projects)%perProject
		if _, err := e.client.Observe(ctx, collab(int64(p+1), userName(u), false, false)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(e.sim.RequestCount()), "reads")
	b.ReportMetric(float64(e.sim.RequestCount())/float64(b.N), "reads/op")
}

// ignoreObservedAt leaves out when the snapshot was fetched, which the
// tests of what was observed do not control.
var ignoreObservedAt = cmpopts.IgnoreFields(provider.Observation{}, "ObservedAt", "Difference")
