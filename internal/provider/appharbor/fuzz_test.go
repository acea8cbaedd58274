package appharbor

import (
	"context"
	"net/http"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/providertest"
)

// FuzzRequest checks that any slug, id and token address exactly
// /applications/<slug>/collaborators/<id> under the base path: the path as
// sent on the wire decodes back to the same segments, so no value can reach
// another resource. It also checks IDFromURL inverts the simulator's URLs.
func FuzzRequest(f *testing.F) {
	f.Add("/", "my-app", "WseYku+3w4HAMf+dIq854Qw/2Qc=", "tok")
	f.Add("/base/", "..", ".", "t/o?k")
	f.Add("", "a/b?c#d", "%2F..%2F", "tok%20")
	f.Add("/x%2Fy", "ü", "id with space", "T")
	f.Fuzz(func(t *testing.T, basePath, slug, id, token string) {
		a, err := NewAPIClient(providertest.FuzzBaseURL("appharbor.example", basePath), token)
		if err != nil {
			return
		}
		if slug == "" || id == "" {
			return // refused before any request
		}
		u := httpapi.JoinURL(a.base, "applications", slug, "collaborators", id)
		req, err := a.newRequest(context.Background(), http.MethodDelete, u, nil)
		if err != nil {
			t.Fatalf("building request: %v", err)
		}
		if wire := providertest.WirePath(t, a.base, req, "appharbor.example", "applications", slug, "collaborators", id); wire.RawQuery != "" {
			t.Fatalf("request %q escapes its path", req.URL.RequestURI())
		}
		back, err := IDFromURL(u.String(), nil)
		if err != nil || back != id {
			t.Fatalf("IDFromURL(%q) = %q, %v; want %q", u.String(), back, err, id)
		}
	})
}
