package sim_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider/appharbor/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/providertest"
)

const tok = "good-token"

func start(t *testing.T) (*sim.Server, string) {
	t.Helper()
	s := sim.New()
	err := s.Seed(sim.Seed{
		Users:        []sim.User{{Name: "bob", Email: "bob@example.com"}, {Name: "amy", Email: "amy@example.com"}, {Name: "cid", Email: "cid@example.com"}},
		Applications: []sim.Application{{Slug: "app", Collaborators: []sim.SeedCollaborator{{Email: "bob@example.com", Role: "collaborator", ID: "fixed/id+1="}}}, {Slug: "locked"}},
		Tokens:       []sim.Token{{Token: tok, Applications: []string{"app"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

type answer struct {
	Status   int
	Message  string
	Location string
}

func do(t *testing.T, method, url string, hdr map[string]string, body string) answer {
	t.Helper()
	r := providertest.Send(t, method, url, hdr, body)
	var out struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &out)
	return answer{Status: r.Status, Message: out.Error.Message, Location: r.Header.Get("Location")}
}

func TestStrictness(t *testing.T) {
	good := map[string]string{"Authorization": "BEARER " + tok, "Accept": "application/json"}
	withJSON := map[string]string{"Authorization": "Bearer " + tok, "Accept": "application/json", "Content-Type": "application/json"}
	tests := map[string]struct {
		method, path string
		hdr          map[string]string
		body         string
		wantStatus   int
		wantMsg      string
	}{
		"list":                {method: "GET", path: "/applications/app/collaborators", hdr: good, wantStatus: 200},
		"query token":         {method: "GET", path: "/applications/app/collaborators?access_token=" + tok, hdr: map[string]string{"Accept": "application/json"}, wantStatus: 200},
		"missing bearer":      {method: "GET", path: "/applications/app/collaborators", hdr: map[string]string{"Accept": "application/json"}, wantStatus: 401},
		"wrong token":         {method: "GET", path: "/applications/app/collaborators", hdr: map[string]string{"Authorization": "Bearer nope", "Accept": "application/json"}, wantStatus: 401},
		"basic scheme":        {method: "GET", path: "/applications/app/collaborators", hdr: map[string]string{"Authorization": "Basic " + tok, "Accept": "application/json"}, wantStatus: 401},
		"no accept":           {method: "GET", path: "/applications/app/collaborators", hdr: map[string]string{"Authorization": "Bearer " + tok}, wantStatus: 406},
		"unknown slug":        {method: "GET", path: "/applications/nope/collaborators", hdr: good, wantStatus: 404},
		"forbidden app":       {method: "GET", path: "/applications/locked/collaborators", hdr: good, wantStatus: 403, wantMsg: "Forbidden"},
		"unknown id":          {method: "GET", path: "/applications/app/collaborators/nope", hdr: good, wantStatus: 404},
		"unescaped id":        {method: "GET", path: "/applications/app/collaborators/fixed/id+1=", hdr: good, wantStatus: 404},
		"escaped id":          {method: "GET", path: "/applications/app/collaborators/fixed%2Fid+1=", hdr: good, wantStatus: 200},
		"wrong content type":  {method: "POST", path: "/applications/app/collaborators", hdr: good, body: `{"collaboratorEmail":"amy@example.com","role":"collaborator"}`, wantStatus: 415},
		"create":              {method: "POST", path: "/applications/app/collaborators", hdr: withJSON, body: `{"collaboratorEmail":"amy@example.com","role":"collaborator"}`, wantStatus: 201},
		"create no email":     {method: "POST", path: "/applications/app/collaborators", hdr: withJSON, body: `{"role":"collaborator"}`, wantStatus: 400},
		"create unknown user": {method: "POST", path: "/applications/app/collaborators", hdr: withJSON, body: `{"collaboratorEmail":"zed@example.com","role":"collaborator"}`, wantStatus: 400},
		"create bad role":     {method: "POST", path: "/applications/app/collaborators", hdr: withJSON, body: `{"collaboratorEmail":"amy@example.com","role":"owner"}`, wantStatus: 400},
		"create duplicate":    {method: "POST", path: "/applications/app/collaborators", hdr: withJSON, body: `{"collaboratorEmail":"BOB@example.com","role":"collaborator"}`, wantStatus: 400, wantMsg: "already"},
		"create extra field":  {method: "POST", path: "/applications/app/collaborators", hdr: withJSON, body: `{"collaboratorEmail":"amy@example.com","role":"collaborator","x":1}`, wantStatus: 400},
		"put":                 {method: "PUT", path: "/applications/app/collaborators/fixed%2Fid+1=", hdr: withJSON, body: `{"role":"administrator"}`, wantStatus: 200},
		"put bad role":        {method: "PUT", path: "/applications/app/collaborators/fixed%2Fid+1=", hdr: withJSON, body: `{"role":"boss"}`, wantStatus: 400},
		"delete":              {method: "DELETE", path: "/applications/app/collaborators/fixed%2Fid+1=", hdr: good, wantStatus: 204},
		"patch":               {method: "PATCH", path: "/applications/app/collaborators/fixed%2Fid+1=", hdr: withJSON, body: `{}`, wantStatus: 405},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, base := start(t)
			got := do(t, tc.method, base+tc.path, tc.hdr, tc.body)
			if got.Status != tc.wantStatus || !strings.Contains(got.Message, tc.wantMsg) {
				t.Fatalf("got %+v, want %d %q", got, tc.wantStatus, tc.wantMsg)
			}
			if got.Status >= 400 && got.Message == "" {
				t.Fatal(`error without {"error":{"message":...}}`)
			}
			if got.Status == 201 && !strings.HasPrefix(got.Location, base+"/applications/app/collaborators/") {
				t.Fatalf("Location %q", got.Location)
			}
		})
	}
}

func TestListOrderAndLogRedaction(t *testing.T) {
	s, base := start(t)
	for _, email := range []string{"cid@example.com", "amy@example.com"} {
		if _, err := s.AddCollaborator("app", email, "collaborator"); err != nil {
			t.Fatal(err)
		}
	}
	held := s.Collaborators("app")
	names := make([]string, 0, len(held))
	for _, c := range held {
		names = append(names, c.UserName)
	}
	if strings.Join(names, ",") != "amy,bob,cid" {
		t.Fatalf("order %v, want by user name", names)
	}
	do(t, "GET", base+"/applications/app/collaborators?access_token="+tok, map[string]string{"Accept": "application/json"}, "")
	do(t, "GET", base+"/applications/app/collaborators", map[string]string{"Authorization": "Bearer " + tok, "Accept": "application/json"}, "")
	for _, r := range s.Requests() {
		if strings.Contains(r.String(), tok) || strings.Contains(strings.Join(r.Header.Values("Authorization"), ""), tok) {
			t.Fatalf("token in log: %v %v", r, r.Header)
		}
	}
}
