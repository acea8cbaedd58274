package metrics

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// fakeClient answers every call with err.
type fakeClient struct{ err error }

func (f *fakeClient) Observe(context.Context, *collabv1alpha1.Collaborator) (provider.Observation, error) {
	return provider.Observation{Exists: true, ExternalID: "42"}, f.err
}
func (f *fakeClient) Create(context.Context, *collabv1alpha1.Collaborator) (provider.Creation, error) {
	return provider.Creation{ExternalID: "43"}, f.err
}
func (f *fakeClient) Update(context.Context, *collabv1alpha1.Collaborator) error { return f.err }
func (f *fakeClient) Delete(context.Context, *collabv1alpha1.Collaborator) error { return f.err }

// fakeAuthClient also checks credentials.
type fakeAuthClient struct {
	fakeClient
	authErr error
}

func (f *fakeAuthClient) Authenticate(context.Context) error { return f.authErr }

func count(prov, op, outcome string) float64 {
	return testutil.ToFloat64(requests.WithLabelValues(prov, op, outcome))
}

func TestInstrumentCountsByProviderOperationAndOutcome(t *testing.T) {
	ctx := context.Background()
	c := &collabv1alpha1.Collaborator{}
	const prov = "TestCounts"

	ok := Instrument(prov, &fakeClient{})
	obs, err := ok.Observe(ctx, c)
	if err != nil || obs.ExternalID != "42" {
		t.Fatalf("Observe passed through %+v, %v; want the wrapped client's answer", obs, err)
	}
	cr, err := ok.Create(ctx, c)
	if err != nil || cr.ExternalID != "43" {
		t.Fatalf("Create passed through %+v, %v; want the wrapped client's answer", cr, err)
	}
	if err := ok.Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := ok.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}

	down := &provider.Error{Provider: prov, Op: "create collaborator", Class: provider.ClassUnavailable, StatusCode: 503}
	failing := Instrument(prov, &fakeClient{err: fmt.Errorf("creating: %w", down)})
	if _, err := failing.Create(ctx, c); !errors.Is(err, down) {
		t.Fatalf("Create returned %v; want the wrapped client's error unchanged", err)
	}
	if _, err := failing.Create(ctx, c); err == nil {
		t.Fatal("want an error")
	}
	unsupported := Instrument(prov, &fakeClient{err: fmt.Errorf("observe: %w", provider.ErrUnsupported)})
	_, _ = unsupported.Observe(ctx, c)
	unknown := Instrument(prov, &fakeClient{err: errors.New("boom")})
	_ = unknown.Delete(ctx, c)

	for _, tc := range []struct {
		op, outcome string
		want        float64
	}{
		{OpObserve, OutcomeSuccess, 1},
		{OpCreate, OutcomeSuccess, 1},
		{OpUpdate, OutcomeSuccess, 1},
		{OpDelete, OutcomeSuccess, 1},
		{OpCreate, "Unavailable", 2},
		{OpObserve, OutcomeUnsupported, 1},
		{OpDelete, "Unknown", 1},
		{OpUpdate, "Unavailable", 0},
	} {
		if got := count(prov, tc.op, tc.outcome); got != tc.want {
			t.Errorf("collab_provider_requests_total{provider=%q,operation=%q,outcome=%q} = %v, want %v",
				prov, tc.op, tc.outcome, got, tc.want)
		}
	}

	// Every counted call is also timed, under the same labels.
	n, err := testutil.GatherAndCount(crmetrics.Registry, "collab_provider_request_duration_seconds")
	if err != nil {
		t.Fatalf("gathering from controller-runtime's registry: %v", err)
	}
	if n < 7 {
		t.Errorf("collab_provider_request_duration_seconds has %d series on controller-runtime's registry, want at least 7", n)
	}
	if got := histogramCount(t, prov, OpCreate, "Unavailable"); got != 2 {
		t.Errorf("duration histogram counted %d failed creates, want 2", got)
	}
}

// histogramCount reads a histogram series' sample count from the registry,
// the way a scrape would see it.
func histogramCount(t *testing.T, prov, op, outcome string) uint64 {
	t.Helper()
	mfs, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "collab_provider_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["provider"] == prov && labels["operation"] == op && labels["outcome"] == outcome {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func TestInstrumentPreservesAuthenticatorOnlyWhenWrappedHasIt(t *testing.T) {
	const prov = "TestAuth"
	if _, ok := Instrument(prov, &fakeClient{}).(provider.Authenticator); ok {
		t.Error("instrumented client implements provider.Authenticator though the wrapped one does not; " +
			"the ProviderConfig reconciler would call a check the provider does not offer")
	}
	wrapped := Instrument(prov, &fakeAuthClient{authErr: &provider.Error{Class: provider.ClassUnauthorized, StatusCode: 401}})
	a, ok := wrapped.(provider.Authenticator)
	if !ok {
		t.Fatal("instrumented client lost provider.Authenticator")
	}
	if err := a.Authenticate(context.Background()); provider.ClassOf(err) != provider.ClassUnauthorized {
		t.Fatalf("Authenticate returned %v; want the wrapped error", err)
	}
	if got := count(prov, OpAuthenticate, "Unauthorized"); got != 1 {
		t.Errorf("authenticate/Unauthorized counted %v, want 1", got)
	}
	// The Client methods are still instrumented on the Authenticator wrapper.
	_ = wrapped.Delete(context.Background(), &collabv1alpha1.Collaborator{})
	if got := count(prov, OpDelete, OutcomeSuccess); got != 1 {
		t.Errorf("delete/success counted %v, want 1", got)
	}
}
