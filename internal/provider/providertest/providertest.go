// Package providertest holds test helpers the provider packages share:
// checking which path a client request addresses on the wire, and sending
// raw requests to a simulator.
package providertest

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
)

// FuzzBaseURL makes a fuzzed base path absolute and puts it on host, so a
// fuzz target can hand it to a client constructor.
func FuzzBaseURL(host, basePath string) string {
	if !strings.HasPrefix(basePath, "/") {
		basePath = "/" + basePath
	}
	return "https://" + host + basePath
}

// WirePath fails t unless req, as sent on the wire and parsed as a server
// would parse it, goes to host and its path decodes to exactly base's
// segments followed by segs, with no dot segment left raw. It returns the
// wire URL, for checks of the query.
func WirePath(t testing.TB, base *url.URL, req *http.Request, host string, segs ...string) *url.URL {
	t.Helper()
	if req.URL.Host != host {
		t.Fatalf("request %q goes to host %q, want %q", req.URL.Redacted(), req.URL.Host, host)
	}
	wire, err := url.ParseRequestURI(req.URL.RequestURI())
	if err != nil {
		t.Fatalf("request URI %q does not parse: %v", req.URL.RequestURI(), err)
	}
	got, err := httpapi.SplitEscapedPath(wire.EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	var prefix []string
	if bp := strings.TrimRight(base.EscapedPath(), "/"); bp != "" {
		prefix, _ = httpapi.SplitEscapedPath(bp)
	}
	want := make([]string, 0, len(prefix)+len(segs))
	want = append(want, prefix...)
	want = append(want, segs...)
	if !slices.Equal(got, want) {
		t.Fatalf("path %q decodes to %q, want %q", wire.EscapedPath(), got, want)
	}
	for _, raw := range strings.Split(wire.EscapedPath(), "/") {
		if raw == "." || raw == ".." {
			t.Fatalf("dot segment on the wire: %q", wire.EscapedPath())
		}
	}
	return wire
}

// Reply is a simulator's answer, fully read.
type Reply struct {
	// Status is the HTTP status.
	Status int
	// Header is the response header.
	Header http.Header
	// Body is the whole body.
	Body []byte
}

// Send sends method to target with the given headers and body, failing t if
// the request cannot be made, and returns the answer.
func Send(t testing.TB, method, target string, hdr map[string]string, body string) Reply {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
