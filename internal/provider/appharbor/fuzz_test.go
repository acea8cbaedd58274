package appharbor

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
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
		if !strings.HasPrefix(basePath, "/") {
			basePath = "/" + basePath
		}
		a, err := NewAPIClient("https://appharbor.example"+basePath, token)
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
		// What goes on the wire is RequestURI; parse it as a server would.
		wire, err := url.ParseRequestURI(req.URL.RequestURI())
		if err != nil {
			t.Fatalf("request URI %q does not parse: %v", req.URL.RequestURI(), err)
		}
		if wire.RawQuery != "" || req.URL.Host != "appharbor.example" {
			t.Fatalf("request %q escapes its path", req.URL.RequestURI())
		}
		got, err := httpapi.SplitEscapedPath(wire.EscapedPath())
		if err != nil {
			t.Fatal(err)
		}
		var prefix []string
		if bp := strings.TrimRight(a.base.EscapedPath(), "/"); bp != "" {
			prefix, _ = httpapi.SplitEscapedPath(bp)
		}
		want := make([]string, 0, len(prefix)+4)
		want = append(want, prefix...)
		want = append(want, "applications", slug, "collaborators", id)
		if !slices.Equal(got, want) {
			t.Fatalf("path %q decodes to %q, want %q", wire.EscapedPath(), got, want)
		}
		for _, raw := range strings.Split(wire.EscapedPath(), "/") {
			if raw == "." || raw == ".." {
				t.Fatalf("dot segment on the wire: %q", wire.EscapedPath())
			}
		}
		back, err := IDFromURL(u.String(), nil)
		if err != nil || back != id {
			t.Fatalf("IDFromURL(%q) = %q, %v; want %q", u.String(), back, err, id)
		}
	})
}
