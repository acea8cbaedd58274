package sim_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider/providertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit/sim"
)

const tok = "org/tok?en"

func TestStrictness(t *testing.T) {
	escaped := "/api/organizations/" + url.PathEscape(tok) + "/collaborations"
	tests := map[string]struct {
		method, path string
		wantStatus   int
		wantMsg      string
		wantRemoved  bool
	}{
		"delete":          {method: "DELETE", path: escaped + "?email=BOB%40example.com", wantStatus: 200, wantRemoved: true},
		"missing email":   {method: "DELETE", path: escaped, wantStatus: 404, wantMsg: sim.MsgNoEmail},
		"empty email":     {method: "DELETE", path: escaped + "?email=", wantStatus: 404, wantMsg: sim.MsgNoEmail},
		"not a member":    {method: "DELETE", path: escaped + "?email=zed%40example.com", wantStatus: 404, wantMsg: sim.MsgNotMember},
		"unknown token":   {method: "DELETE", path: "/api/organizations/nope/collaborations?email=bob%40example.com", wantStatus: 401},
		"unescaped token": {method: "DELETE", path: "/api/organizations/org/tok%3Fen/collaborations?email=bob%40example.com", wantStatus: 404},
		"GET":             {method: "GET", path: escaped + "?email=bob%40example.com", wantStatus: 405},
		"POST":            {method: "POST", path: escaped + "?email=bob%40example.com", wantStatus: 405},
		"other path":      {method: "DELETE", path: "/api/organizations/x/members?email=bob%40example.com", wantStatus: 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := sim.New()
			s.AddOrganization(tok, "bob@example.com")
			ts := httptest.NewServer(s)
			defer ts.Close()
			r := providertest.Send(t, tc.method, ts.URL+tc.path, nil, "")
			var body map[string]string
			_ = json.Unmarshal(r.Body, &body)
			if r.Status != tc.wantStatus || body["error"] != tc.wantMsg && tc.wantMsg != "" {
				t.Fatalf("got %d %s, want %d %q", r.Status, r.Body, tc.wantStatus, tc.wantMsg)
			}
			if removed := !s.IsMember(tok, "bob@example.com"); removed != tc.wantRemoved {
				t.Fatalf("removed %v, want %v", removed, tc.wantRemoved)
			}
			for _, r := range s.Requests() {
				if strings.Contains(r.String(), url.PathEscape(tok)) || strings.Contains(r.String(), tok) {
					t.Fatalf("token in the request log: %v", r)
				}
			}
		})
	}
}
