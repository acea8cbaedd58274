package webtranslateit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit"
)

// A base URL that answers the DELETE with a redirect to a page that answers
// GET with 200 must not pass for a removal: the person would stay.
func TestDeleteRedirectIsNotARemoval(t *testing.T) {
	const orgToken = "wti-REDIRECT-t0ken" //nolint:gosec // a fake credential of the test
	followed := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/welcome" {
			followed = true
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Redirect(w, r, "/welcome", http.StatusFound)
	}))
	defer srv.Close()
	api, err := webtranslateit.NewAPIClient(srv.URL, orgToken)
	if err != nil {
		t.Fatal(err)
	}
	err = api.DeleteCollaboration(context.Background(), "bob@example.com")
	if err == nil || provider.IsNotFound(err) {
		t.Fatalf("a redirected delete passed: %v", err)
	}
	if !strings.Contains(err.Error(), "302") || !strings.Contains(err.Error(), "/welcome") {
		t.Errorf("%q does not name the status and the Location", err)
	}
	if strings.Contains(err.Error(), orgToken) {
		t.Errorf("the token leaked: %q", err)
	}
	if followed {
		t.Error("the redirect was followed")
	}
}
