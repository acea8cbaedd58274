// Package builtin assembles the Registry of the providers this operator
// ships. It is the one place that imports every concrete provider, so the
// controllers never do.
package builtin

import (
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/appharbor"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/quantconnect"
	"github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit"
)

// Options tune the clients of every provider.
type Options struct {
	// Timeout bounds each HTTP request to a provider.
	Timeout time.Duration
	// Observer, when set, is told of every request, budget wait and
	// snapshot read (the metrics).
	Observer httpapi.Observer
	// MaxInFlight bounds the requests made with one set of credentials
	// that may await their answers at once; 0 is no bound.
	MaxInFlight int
}

// NewRegistry returns a Registry with QuantConnect, AppHarbor and
// WebTranslateIt. Build it once per manager: the factories hold the read
// caches that let Collaborators of one project share reads.
func NewRegistry(o Options) *provider.Registry {
	r := provider.NewRegistry()
	opts := []httpapi.Option{httpapi.WithTimeout(o.Timeout), httpapi.WithObserver(o.Observer), httpapi.WithMaxInFlight(o.MaxInFlight)}
	r.Register(collabv1alpha1.ProviderQuantConnect, quantconnect.NewFactory(opts...))
	r.Register(collabv1alpha1.ProviderAppHarbor, appharbor.NewFactory(opts...))
	r.Register(collabv1alpha1.ProviderWebTranslateIt, webtranslateit.NewFactory(opts...))
	return r
}
