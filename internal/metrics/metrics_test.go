package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
)

// Every HTTP request that goes out is counted once, under its outcome; a
// budget wait is timed.
func TestRequestsCountWhatWentOut(t *testing.T) {
	codes := []int{http.StatusOK, http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusUnauthorized}
	next := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[next%len(codes)])
		next++
	}))
	defer srv.Close()
	const prov = "TestCount"
	s := httpapi.NewSettings(httpapi.WithObserver(Provider{})).ForCredentials(provider.Config{
		BaseURL: srv.URL, Credentials: provider.Credentials{"k": []byte("v")}, RequestsPerSecond: 1000, Burst: 10,
	})
	c := httpapi.NewClient(prov, s, nil)
	for i := range codes {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, http.NoBody)
		_, _ = c.Do("read collaborators", req)
		// The 429 paused the budget, which then sends nothing until the
		// pause ends: each request gets a budget of its own.
		c.Budget = s.Budgets.For(fmt.Sprint("fresh-", i), 1000, 10)
	}
	for outcome, want := range map[string]float64{"success": 1, "Unavailable": 1, "RateLimited": 1, "Unauthorized": 1} {
		if got := testutil.ToFloat64(requests.WithLabelValues(prov, "read_collaborators", outcome)); got != want {
			t.Errorf("%s counted %v, want %v", outcome, got, want)
		}
	}
	if n := testutil.CollectAndCount(budgetWait, "collab_provider_budget_wait_seconds"); n == 0 {
		t.Error("no budget wait recorded")
	}
	Provider{}.SnapshotHit(prov)
	if got := testutil.ToFloat64(snapshotReads.WithLabelValues(prov)); got != 1 {
		t.Errorf("snapshot reads %v, want 1", got)
	}
}
