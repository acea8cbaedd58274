package metrics

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// StatusConditionName is the name of the condition gauge. It follows
// External Secrets' externalsecret_status_condition, so dashboards and
// alerts written for one read the other the same way.
const StatusConditionName = "collab_status_condition"

// Kind label values of the condition gauge.
const (
	// KindCollaborator labels a Collaborator's conditions.
	KindCollaborator = "Collaborator"
	// KindProviderConfig labels a ProviderConfig's conditions.
	KindProviderConfig = "ProviderConfig"
	// KindAccessPolicy labels an AccessPolicy's conditions.
	KindAccessPolicy = "AccessPolicy"
	// KindClusterProviderConfig labels a ClusterProviderConfig's
	// conditions (namespace "").
	KindClusterProviderConfig = "ClusterProviderConfig"
)

// UnmanagedMembersName is the gauge of members an AccessPolicy found that
// no Collaborator declares (the length of its status.unmanaged).
const UnmanagedMembersName = "collab_accesspolicy_unmanaged_members"

var unmanagedDesc = prometheus.NewDesc(UnmanagedMembersName,
	"Members at the provider that no Collaborator declares, as an AccessPolicy last reported them (status.unmanaged), "+
		"by namespace, name and provider; the owner, the ProviderConfig's own account and exempt members are not counted.",
	objectLabels, nil)

// statusConditionDesc describes one series per condition of each object,
// of value 1, carrying its status and reason as labels. One series per
// condition (not one per possible status, as External Secrets does) keeps
// the cardinality at four series per object, and "status" and "reason"
// still select what an alert needs.
var statusConditionDesc = prometheus.NewDesc(StatusConditionName,
	"The conditions of Collaborators, ProviderConfigs, ClusterProviderConfigs and AccessPolicies as last written to their status: "+
		"1 for each condition an object has, by kind, namespace, name, provider, condition, status and reason.",
	[]string{"kind", "namespace", "name", labelProvider, "condition", "status", "reason"}, nil)

// ExpiryTimestampName is the gauge of Collaborators' spec.expiresAt, so
// that alerts can warn before access ends.
const ExpiryTimestampName = "collab_collaborator_expiry_timestamp_seconds"

var expiryDesc = prometheus.NewDesc(ExpiryTimestampName,
	"When a Collaborator's access ends (spec.expiresAt), in seconds since the Unix epoch, by namespace, name and provider; "+
		"absent for Collaborators without expiresAt.",
	objectLabels, nil)

// objectLabels are the labels of the per-object gauges.
var objectLabels = []string{"namespace", "name", labelProvider}

// StatusCollector publishes the conditions of the Collaborators and
// ProviderConfigs and AccessPolicies it can list as collab_status_condition. It reads them at
// scrape time from a client.Reader (the manager's cache): the status the
// reconcilers wrote is the single source, so the gauge can never disagree
// with `kubectl get`, and the reconcilers need no metrics code. Every
// replica publishes it, leader or not, because every replica's cache sees
// the same objects; alerts aggregate with max by object.
type StatusCollector struct {
	// Reader lists the objects; the manager's cache, so a scrape costs no
	// API server request.
	Reader client.Reader
	// Timeout bounds one scrape's lists; 5s when zero. A cache that has not
	// synced yet would otherwise hold the scrape.
	Timeout time.Duration
	// Log receives list failures; such a scrape publishes what it could
	// list instead of failing the whole metrics endpoint.
	Log logr.Logger
	// ClusterProviderConfigs publishes ClusterProviderConfigs' conditions
	// too; set only where they are served (a namespace-scoped install
	// cannot list them).
	ClusterProviderConfigs bool
}

// Describe implements prometheus.Collector.
func (c *StatusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- statusConditionDesc
	ch <- expiryDesc
	ch <- unmanagedDesc
}

// Collect implements prometheus.Collector.
func (c *StatusCollector) Collect(ch chan<- prometheus.Metric) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	series := newConditionSeries()
	for _, o := range c.collaborators(ctx) {
		series.emit(ch, KindCollaborator, o.Namespace, o.Name, o.Spec.ProviderName(), o.Status.Conditions)
		if o.Spec.ExpiresAt != nil {
			ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, float64(o.Spec.ExpiresAt.Unix()),
				o.Namespace, o.Name, o.Spec.ProviderName())
		}
	}

	pcs := &collabv1alpha1.ProviderConfigList{}
	if err := c.Reader.List(ctx, pcs, client.UnsafeDisableDeepCopy); err != nil {
		c.Log.Error(err, "Listing ProviderConfigs for "+StatusConditionName+" failed")
	}
	for i := range pcs.Items {
		o := &pcs.Items[i]
		ep, _ := o.Spec.Endpoint()
		series.emit(ch, KindProviderConfig, o.Namespace, o.Name, ep.Provider, o.Status.Conditions)
	}
	if c.ClusterProviderConfigs {
		c.collectClusterProviderConfigs(ctx, series, ch)
	}

	policies := &collabv1alpha1.AccessPolicyList{}
	if err := c.Reader.List(ctx, policies, client.UnsafeDisableDeepCopy); err != nil {
		c.Log.Error(err, "Listing AccessPolicies for "+StatusConditionName+" failed")
	}
	for i := range policies.Items {
		o := &policies.Items[i]
		series.emit(ch, KindAccessPolicy, o.Namespace, o.Name, o.Spec.ProviderName(), o.Status.Conditions)
		if o.Status.ObservedGeneration > 0 {
			ch <- prometheus.MustNewConstMetric(unmanagedDesc, prometheus.GaugeValue, float64(len(o.Status.Unmanaged)),
				o.Namespace, o.Name, o.Spec.ProviderName())
		}
	}
}

// collectClusterProviderConfigs publishes the ClusterProviderConfigs'
// conditions, with an empty namespace label.
func (c *StatusCollector) collectClusterProviderConfigs(ctx context.Context, series *conditionSeriesBuilder, ch chan<- prometheus.Metric) {
	cpcs := &collabv1alpha1.ClusterProviderConfigList{}
	if err := c.Reader.List(ctx, cpcs, client.UnsafeDisableDeepCopy); err != nil {
		c.Log.Error(err, "Listing ClusterProviderConfigs for "+StatusConditionName+" failed")
	}
	for i := range cpcs.Items {
		o := &cpcs.Items[i]
		ep, _ := o.Spec.Endpoint()
		series.emit(ch, KindClusterProviderConfig, "", o.Name, ep.Provider, o.Status.Conditions)
	}
}
