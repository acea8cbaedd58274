package webtranslateit

import (
	"context"
	"net/url"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider/providertest"
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
		a, err := NewAPIClient(providertest.FuzzBaseURL("wti.example", basePath), token)
		if err != nil {
			return
		}
		req, err := a.newRequest(context.Background(), email)
		if err != nil {
			t.Fatalf("building request: %v", err)
		}
		wire := providertest.WirePath(t, a.base, req, "wti.example", "api", "organizations", token, "collaborations")
		q, err := url.ParseQuery(wire.RawQuery)
		if err != nil || len(q) != 1 || len(q["email"]) != 1 || q.Get("email") != email {
			t.Fatalf("query %q decodes to %v (%v), want email=%q only", wire.RawQuery, q, err, email)
		}
		if req.Method != "DELETE" {
			t.Fatalf("request %s, want DELETE", req.Method)
		}
	})
}
