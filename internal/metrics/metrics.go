// Package metrics adds the operator's own Prometheus metrics to the ones
// controller-runtime already serves. controller-runtime counts reconciles,
// but a reconcile that fails says nothing about which provider is slow or
// refusing us; these metrics count and time every provider API call, so an
// operator of the operator can tell "QuantConnect is down" from "our
// AppHarbor token expired" on a dashboard.
package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Operation label values: one per provider.Client method, plus the
// optional Authenticator check.
const (
	// OpObserve labels provider.Client.Observe calls.
	OpObserve = "observe"
	// OpCreate labels provider.Client.Create calls.
	OpCreate = "create"
	// OpUpdate labels provider.Client.Update calls.
	OpUpdate = "update"
	// OpDelete labels provider.Client.Delete calls.
	OpDelete = "delete"
	// OpAuthenticate labels provider.Authenticator.Authenticate calls.
	OpAuthenticate = "authenticate"
)

// Outcome label values that are not a provider.Class name.
const (
	// OutcomeSuccess is a call that returned no error.
	OutcomeSuccess = "success"
	// OutcomeUnsupported is a call the provider's API does not offer
	// (WebTranslateIt has no read or create). It is not a failure of the
	// provider, so it gets its own value instead of "Unknown".
	OutcomeUnsupported = "Unsupported"
)

var (
	// requests counts provider API calls. Its labels are bounded: three
	// providers, five operations and seven outcomes.
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "collab_provider_requests_total",
		Help: "Calls to provider APIs, by provider, operation (observe, create, update, delete, authenticate) " +
			"and outcome (success, or the error class such as Unavailable, Unauthorized, RateLimited).",
	}, []string{labelProvider, "operation", "outcome"})

	// duration times provider API calls, including retries inside the
	// provider package, because that is what a reconcile waits for.
	duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "collab_provider_request_duration_seconds",
		Help: "Duration of calls to provider APIs, by provider, operation and outcome.",
		// SaaS APIs answer in tens to hundreds of milliseconds; the top
		// buckets catch calls that ran into the manager's --provider-timeout
		// (30s by default).
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{labelProvider, "operation", "outcome"})
)

// labelProvider is the label naming the provider on every metric, so
// queries can join them.
const labelProvider = "provider"

func init() {
	// controller-runtime serves its Registry on the manager's metrics
	// endpoint, so registering here is all it takes to publish them.
	crmetrics.Registry.MustRegister(requests, duration)
}

// Instrument wraps c so that every call is counted and timed under the
// given provider name (for example collabv1alpha1.ProviderQuantConnect).
// The result implements provider.Authenticator exactly when c does, because
// the ProviderConfig reconciler decides whether to check credentials by
// that type assertion: a wrapper that always implemented it would invent a
// check the provider does not offer, and one that never did would hide it.
func Instrument(providerName string, c provider.Client) provider.Client {
	ic := &instrumented{provider: providerName, next: c}
	if a, ok := c.(provider.Authenticator); ok {
		return &instrumentedAuthenticator{instrumented: ic, auth: a}
	}
	return ic
}

// Outcome is the outcome label value for a call's error: "success" for
// nil, "Unsupported" for an operation the provider lacks, else the
// provider.Class name of the error ("Unknown" when unclassified).
func Outcome(err error) string {
	switch {
	case err == nil:
		return OutcomeSuccess
	case errors.Is(err, provider.ErrUnsupported):
		return OutcomeUnsupported
	default:
		return provider.ClassOf(err).String()
	}
}

// instrumented is the decorator for clients without optional interfaces.
type instrumented struct {
	provider string
	next     provider.Client
}

// observe records one call that started at start.
func (i *instrumented) observe(op string, start time.Time, err error) {
	outcome := Outcome(err)
	requests.WithLabelValues(i.provider, op, outcome).Inc()
	duration.WithLabelValues(i.provider, op, outcome).Observe(time.Since(start).Seconds())
}

// Observe implements provider.Client.
func (i *instrumented) Observe(ctx context.Context, c *collabv1alpha1.Collaborator) (provider.Observation, error) {
	start := time.Now()
	obs, err := i.next.Observe(ctx, c)
	i.observe(OpObserve, start, err)
	return obs, err
}

// Create implements provider.Client.
func (i *instrumented) Create(ctx context.Context, c *collabv1alpha1.Collaborator) (provider.Creation, error) {
	start := time.Now()
	cr, err := i.next.Create(ctx, c)
	i.observe(OpCreate, start, err)
	return cr, err
}

// Update implements provider.Client.
func (i *instrumented) Update(ctx context.Context, c *collabv1alpha1.Collaborator) error {
	start := time.Now()
	err := i.next.Update(ctx, c)
	i.observe(OpUpdate, start, err)
	return err
}

// Delete implements provider.Client.
func (i *instrumented) Delete(ctx context.Context, c *collabv1alpha1.Collaborator) error {
	start := time.Now()
	err := i.next.Delete(ctx, c)
	i.observe(OpDelete, start, err)
	return err
}

// instrumentedAuthenticator is the decorator for clients that can check
// their credentials.
type instrumentedAuthenticator struct {
	*instrumented
	auth provider.Authenticator
}

// Authenticate implements provider.Authenticator.
func (i *instrumentedAuthenticator) Authenticate(ctx context.Context) error {
	start := time.Now()
	err := i.auth.Authenticate(ctx)
	i.observe(OpAuthenticate, start, err)
	return err
}

// InstrumentFactory wraps a provider.Factory so that every Client it builds
// is instrumented; this is the one-line way to instrument a whole
// provider.Registry at start-up:
//
//	reg.Register(name, metrics.InstrumentFactory(name, factory))
func InstrumentFactory(providerName string, f provider.Factory) provider.Factory {
	return func(cfg provider.Config) (provider.Client, error) {
		c, err := f(cfg)
		if err != nil {
			return nil, err
		}
		return Instrument(providerName, c), nil
	}
}
