package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// A scrape publishes a collab_status_condition series for every condition
// of every object, which at 10,000 Collaborators is 20,000 series. The
// registry holds all of a scrape's series at once, so their size is the
// scrape's memory: with prometheus.MustNewConstMetric each series had
// its own copy of its seven label pairs, about 1 KiB, and a scrape took
// 20 MiB. conditionSeries shares the pairs whose values repeat within a
// scrape (kind, namespace, provider, condition, status, reason); the
// client_model contract makes a written metric's labels immutable, so
// sharing them is safe.

// nameLabel is the name of the label that is every object's own.
var nameLabel = "name"

// conditionSeries is one collab_status_condition series, of value 1.
type conditionSeries struct {
	labels []*dto.LabelPair
	one    *dto.Gauge
}

// Desc implements prometheus.Metric.
func (s conditionSeries) Desc() *prometheus.Desc { return statusConditionDesc }

// Write implements prometheus.Metric.
func (s conditionSeries) Write(out *dto.Metric) error {
	out.Label = s.labels
	out.Gauge = s.one
	return nil
}

// conditionSeriesBuilder makes the condition series of one scrape.
type conditionSeriesBuilder struct {
	pairs map[[2]string]*dto.LabelPair
	one   *dto.Gauge
}

func newConditionSeries() *conditionSeriesBuilder {
	one := 1.0
	return &conditionSeriesBuilder{pairs: map[[2]string]*dto.LabelPair{}, one: &dto.Gauge{Value: &one}}
}

// pair returns the scrape's label pair for name and value.
func (b *conditionSeriesBuilder) pair(name, value string) *dto.LabelPair {
	k := [2]string{name, value}
	if p, ok := b.pairs[k]; ok {
		return p
	}
	p := &dto.LabelPair{Name: &name, Value: &value}
	b.pairs[k] = p
	return p
}

// emit sends a series per condition. The object's name is its own, so
// its pair is made once for the object and shares only the label name.
func (b *conditionSeriesBuilder) emit(ch chan<- prometheus.Metric, kind, namespace, name, provider string, conds []metav1.Condition) {
	if len(conds) == 0 {
		return
	}
	objectName := &dto.LabelPair{Name: &nameLabel, Value: &name}
	for i := range conds {
		cond := &conds[i]
		ch <- conditionSeries{one: b.one, labels: []*dto.LabelPair{ // sorted by label name, as exposition requires
			b.pair("condition", cond.Type),
			b.pair("kind", kind),
			objectName,
			b.pair("namespace", namespace),
			b.pair("provider", provider),
			b.pair("reason", cond.Reason),
			b.pair("status", string(cond.Status)),
		}}
	}
}

// storeInformer is what the manager cache's informers are: client-go
// informers, whose store lists the cached objects without copying them.
type storeInformer interface {
	GetStore() toolscache.Store
}

// collaborators returns the cached Collaborators, for reading only. From
// the manager's cache they come straight from the informer's store: even
// without deep copies, a List copies each object into its Items, 5 MiB at
// 10,000 Collaborators, for every scrape. Other readers (a cache limited
// to some namespaces, a test's client) are listed.
func (c *StatusCollector) collaborators(ctx context.Context) []*collabv1alpha1.Collaborator {
	if informers, ok := c.Reader.(cache.Informers); ok {
		inf, err := informers.GetInformer(ctx, &collabv1alpha1.Collaborator{}, cache.BlockUntilSynced(false))
		if s, isStore := inf.(storeInformer); err == nil && isStore {
			items := s.GetStore().List()
			out := make([]*collabv1alpha1.Collaborator, 0, len(items))
			for _, item := range items {
				if o, ok := item.(*collabv1alpha1.Collaborator); ok {
					out = append(out, o)
				}
			}
			return out
		}
	}
	list := &collabv1alpha1.CollaboratorList{}
	if err := c.Reader.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		c.Log.Error(err, "Listing Collaborators for "+StatusConditionName+" failed")
	}
	out := make([]*collabv1alpha1.Collaborator, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out
}
