package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// A redirect is never followed, whatever the method: Go's client would turn
// a DELETE into a GET of the page it lands on, and a revocation that never
// happened would pass for success.
func TestRedirectIsAFailure(t *testing.T) {
	landed := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/landing", func(w http.ResponseWriter, _ *http.Request) { landed++; w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/landing?token=s3cret-tok", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := NewClient("Test", NewSettings(), Secrets{"s3cret-tok"})

	for _, method := range []string{http.MethodDelete, http.MethodPut, http.MethodPost, http.MethodGet} {
		t.Run(method, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+"/api/thing", http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do("do thing", req)
			if err == nil {
				t.Fatalf("a %d redirect passed as %d", http.StatusFound, resp.StatusCode)
			}
			if got := provider.ClassOf(err); got != provider.ClassRejected {
				t.Errorf("class %s, want Rejected", got)
			}
			for _, want := range []string{"302", "Location /landing", "baseURL"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not name %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cret-tok") {
				t.Errorf("the Location's secret leaked: %q", err)
			}
		})
	}
	if landed != 0 {
		t.Errorf("the redirect was followed %d times", landed)
	}
}
