package manager

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllertest"
)

// The cache holds only the --watch-namespaces, when given, and always
// strips what the reconcilers never read.
func TestCacheOptions(t *testing.T) {
	tests := map[string]struct {
		namespaces []string
		want       cache.Options
	}{
		"all namespaces": {},
		"one namespace": {
			namespaces: []string{"team-a"},
			want:       cache.Options{DefaultNamespaces: map[string]cache.Config{"team-a": {}}},
		},
		"several namespaces": {
			namespaces: []string{"team-a", "team-b"},
			want:       cache.Options{DefaultNamespaces: map[string]cache.Config{"team-a": {}, "team-b": {}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := cacheOptions(tc.namespaces)
			if got.DefaultTransform == nil {
				t.Error("no DefaultTransform: the cache would hold managedFields and Secrets' annotations")
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(cache.Options{}, "DefaultTransform")); diff != "" {
				t.Errorf("cache options (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeInformers hands out informers that have synced, but for the kinds in
// unsynced, and records the kinds asked for.
type fakeInformers struct {
	cache.Informers
	t        *testing.T
	unsynced []string
	err      error
	asked    []string
}

func (f *fakeInformers) GetInformer(
	_ context.Context, obj client.Object, opts ...cache.InformerGetOption,
) (cache.Informer, error) {
	var o cache.InformerGetOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.BlockUntilSynced == nil || *o.BlockUntilSynced {
		f.t.Errorf("GetInformer(%T) may block the probe until the cache syncs", obj)
	}
	gvk, err := apiutil.GVKForObject(obj, mustScheme(f.t))
	if err != nil {
		return nil, err
	}
	f.asked = append(f.asked, gvk.Kind)
	if f.err != nil {
		return nil, f.err
	}
	if slices.Contains(f.unsynced, gvk.Kind) {
		return controllertest.NewFakeInformer(), nil
	}
	return controllertest.NewFakeInformer(controllertest.Synced), nil
}

// The manager is ready once the cache of every kind the reconcilers watch
// has synced, and says which has not.
func TestCacheSynced(t *testing.T) {
	every := []string{"Collaborator", "ProviderConfig", "AccessPolicy", "Secret"}
	tests := map[string]struct {
		unsynced  []string
		err       error
		wantErr   string
		wantAsked []string
	}{
		"every cache synced": {wantAsked: every},
		"Secrets not synced": {
			unsynced:  []string{"Secret"},
			wantErr:   "the Secret cache has not synced yet",
			wantAsked: every,
		},
		"first not synced": {
			unsynced:  []string{"Collaborator", "Secret"},
			wantErr:   "the Collaborator cache has not synced yet",
			wantAsked: every[:1],
		},
		"informer cannot start": {
			err:       errors.New("forbidden"),
			wantErr:   "starting the informer of *v1alpha1.Collaborator: forbidden",
			wantAsked: every[:1],
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			informers := &fakeInformers{t: t, unsynced: tc.unsynced, err: tc.err}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/readyz", nil)
			err := cacheSynced(informers, mustScheme(t))(req)
			if tc.wantErr == "" && err != nil {
				t.Errorf("check: %v; want ready", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("check: %v; want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantAsked, informers.asked); diff != "" {
				t.Errorf("informers asked for (-want +got):\n%s", diff)
			}
		})
	}
}
