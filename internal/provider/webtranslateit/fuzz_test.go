package webtranslateit

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
)

// FuzzRequest checks that any token and email address exactly
// /api/organizations/<token>/collaborations with one email parameter
// holding the email: neither can change the path or add a parameter.
func FuzzRequest(f *testing.F) {
	f.Add("/", "tok", "bob@example.com")
	f.Add("", "a/b?c=d#e", "x&email=evil@example.com")
	f.Add("/base", "..", "a+b@example.com")
	f.Add("/", "%2F", "é@ü.example")
	f.Fuzz(func(t *testing.T, basePath, token, email string) {
		if !strings.HasPrefix(basePath, "/") {
			basePath = "/" + basePath
		}
		a, err := NewAPIClient("https://wti.example"+basePath, token)
		if err != nil {
			return
		}
		req, err := a.newRequest(context.Background(), email)
		if err != nil {
			t.Fatalf("building request: %v", err)
		}
		wire, err := url.ParseRequestURI(req.URL.RequestURI())
		if err != nil {
			t.Fatalf("request URI does not parse: %v", err)
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
		want = append(want, "api", "organizations", token, "collaborations")
		if !slices.Equal(got, want) {
			t.Fatalf("path %q decodes to %q, want %q", wire.EscapedPath(), got, want)
		}
		q, err := url.ParseQuery(wire.RawQuery)
		if err != nil || len(q) != 1 || len(q["email"]) != 1 || q.Get("email") != email {
			t.Fatalf("query %q decodes to %v (%v), want email=%q only", wire.RawQuery, q, err, email)
		}
		if req.Method != "DELETE" || req.URL.Host != "wti.example" {
			t.Fatalf("request %s to %s", req.Method, req.URL.Host)
		}
	})
}
