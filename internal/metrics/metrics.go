// Package metrics adds the operator's own Prometheus metrics to the ones
// controller-runtime already serves. controller-runtime counts reconciles,
// but a reconcile that fails says nothing about which provider is slow or
// refusing us; these metrics count and time every HTTP request that goes
// out to a provider, the reads the shared snapshots saved, and the time
// requests waited for their credentials' request budget, so an operator of
// the operator can tell "QuantConnect is down" from "our AppHarbor token
// expired" or "we are at our rate limit" on a dashboard.
package metrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
)

// OutcomeSuccess is the outcome label of a request answered 2xx; others
// carry the provider.Class name of the failure (Unavailable,
// Unauthorized, RateLimited, Rejected, NotFound).
const OutcomeSuccess = "success"

// labelProvider is the label naming the provider, on every metric.
const labelProvider = "provider"

var (
	// requests counts HTTP requests sent to providers. Its labels are
	// bounded: three providers, a handful of operations each, seven
	// outcomes.
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "collab_provider_requests_total",
		Help: "HTTP requests sent to provider APIs, by provider, operation (for example read_collaborators, " +
			"create_collaborator, authenticate) and outcome (success, or the failure class such as Unavailable, " +
			"Unauthorized, RateLimited). Reads served from a shared snapshot are not requests.",
	}, []string{labelProvider, "operation", "outcome"})

	// duration times those requests.
	duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "collab_provider_request_duration_seconds",
		Help: "Duration of HTTP requests to provider APIs, by provider, operation and outcome.",
		// SaaS APIs answer in tens to hundreds of milliseconds; the top
		// buckets catch requests that ran into the manager's
		// --provider-timeout (30s by default).
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{labelProvider, "operation", "outcome"})

	// snapshotReads counts reads served from a shared snapshot.
	snapshotReads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "collab_provider_snapshot_reads_total",
		Help: "Collaborator reads served from the shared per-project (or per-application) snapshot " +
			"instead of a request to the provider, by provider.",
	}, []string{labelProvider})

	// budgetWait times waits for a request budget.
	budgetWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "collab_provider_budget_wait_seconds",
		Help: "Time requests waited for their credentials' request budget (ProviderConfig spec.rateLimit, " +
			"and pauses after rate-limit answers), by provider.",
		Buckets: []float64{0, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60},
	}, []string{labelProvider})

	// removals counts the members AccessPolicies in Enforce mode removed.
	removals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "collab_accesspolicy_removals_total",
		Help: "Members that AccessPolicies in Enforce mode removed at the provider because no Collaborator declared them, by provider.",
	}, []string{labelProvider})
)

func init() {
	// controller-runtime serves its Registry on the manager's metrics
	// endpoint, so registering here is all it takes to publish them.
	crmetrics.Registry.MustRegister(requests, duration, snapshotReads, budgetWait, removals)
}

// Provider records what the provider clients do; pass it to the provider
// factories (httpapi.WithObserver).
type Provider struct{}

var _ httpapi.Observer = Provider{}

// Request implements httpapi.Observer.
func (Provider) Request(providerName, op, outcome string, d time.Duration) {
	op = strings.ReplaceAll(op, " ", "_")
	requests.WithLabelValues(providerName, op, outcome).Inc()
	duration.WithLabelValues(providerName, op, outcome).Observe(d.Seconds())
}

// BudgetWait implements httpapi.Observer.
func (Provider) BudgetWait(providerName string, d time.Duration) {
	budgetWait.WithLabelValues(providerName).Observe(d.Seconds())
}

// SnapshotHit implements httpapi.Observer.
func (Provider) SnapshotHit(providerName string) {
	snapshotReads.WithLabelValues(providerName).Inc()
}

// MemberRemoved counts one member an AccessPolicy removed at the provider.
func MemberRemoved(providerName string) {
	removals.WithLabelValues(providerName).Inc()
}
