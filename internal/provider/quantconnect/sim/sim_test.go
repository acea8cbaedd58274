package sim_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/collab-dev/collaborator-operator/internal/provider/providertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
)

var now = time.Unix(1_800_000_000, 0)

const token = "tok-1"

func start(t *testing.T) (*sim.Server, string) {
	t.Helper()
	s := sim.New(sim.WithClock(func() time.Time { return now }))
	err := s.Seed(sim.Seed{
		Users: []sim.User{
			{UID: 1, PublicID: "owner", APIToken: token},
			{UID: 2, PublicID: "mia"},
		},
		Projects: []sim.Project{{ID: 10, Owner: "owner", Collaborators: []sim.Member{{UserID: "mia", Write: true}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL + sim.PathPrefix
}

func sign(user, tok string, ts int64) (string, string) {
	stamp := strconv.FormatInt(ts, 10)
	sum := sha256.Sum256([]byte(tok + ":" + stamp))
	return stamp, "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+hex.EncodeToString(sum[:])))
}

type answer struct {
	Status  int
	Success bool
	Errors  []string
	WWWAuth bool
}

func do(t *testing.T, method, url string, hdr map[string]string, body string) answer {
	t.Helper()
	r := providertest.Send(t, method, url, hdr, body)
	var out struct {
		Success bool     `json:"success"`
		Errors  []string `json:"errors"`
	}
	_ = json.Unmarshal(r.Body, &out)
	return answer{Status: r.Status, Success: out.Success, Errors: out.Errors, WWWAuth: r.Header.Get("www_authenticate") != ""}
}

func TestStrictness(t *testing.T) {
	goodTS, goodAuth := sign("1", token, now.Unix())
	jsonType := "application/json"
	tests := map[string]struct {
		method, path, ctype, ts, auth, body string
		wantStatus                          int
		wantSuccess                         bool
		wantErr                             string
	}{
		"authenticate ok":      {path: "/authenticate", wantStatus: 200, wantSuccess: true},
		"wrong hash":           {path: "/authenticate", auth: "wrong", wantStatus: 401, wantErr: "Hash"},
		"stale timestamp":      {path: "/authenticate", ts: "stale", wantStatus: 401, wantErr: "Timestamp"},
		"missing timestamp":    {path: "/authenticate", ts: "none", wantStatus: 401, wantErr: "Timestamp"},
		"missing auth":         {path: "/authenticate", auth: "none", wantStatus: 401},
		"unknown api user":     {path: "/authenticate", auth: "user", wantStatus: 401},
		"GET":                  {method: "GET", path: "/authenticate", wantStatus: 405},
		"wrong content type":   {path: "/projects/collaboration/read", ctype: "text/plain", body: `{"projectId":10}`, wantStatus: 415},
		"read ok":              {path: "/projects/collaboration/read", body: `{"projectId":10}`, wantStatus: 200, wantSuccess: true},
		"read unknown field":   {path: "/projects/collaboration/read", body: `{"projectId":10,"x":1}`, wantStatus: 200, wantErr: "unknown field"},
		"read string id":       {path: "/projects/collaboration/read", body: `{"projectId":"10"}`, wantStatus: 200, wantErr: "invalid"},
		"read no body":         {path: "/projects/collaboration/read", wantStatus: 200, wantErr: "required"},
		"read unknown project": {path: "/projects/collaboration/read", body: `{"projectId":11}`, wantStatus: 200, wantErr: "not found"},
		"create missing write": {path: "/projects/collaboration/create", body: `{"projectId":10,"collaboratorUserId":"mia","collaborationLiveControl":true}`, wantStatus: 200, wantErr: "required"},
		"create existing": {path: "/projects/collaboration/create",
			body: `{"projectId":10,"collaboratorUserId":"mia","collaborationLiveControl":true,"collaborationWrite":true}`, wantStatus: 200, wantErr: "already a collaborator"},
		"create unknown user": {path: "/projects/collaboration/create",
			body: `{"projectId":10,"collaboratorUserId":"zed","collaborationLiveControl":true,"collaborationWrite":true}`, wantStatus: 200, wantErr: "does not exist"},
		"update missing liveControl": {path: "/projects/collaboration/update", body: `{"projectId":10,"collaboratorUserId":"mia","write":true}`, wantStatus: 200, wantErr: "required"},
		"update ok":                  {path: "/projects/collaboration/update", body: `{"projectId":10,"collaboratorUserId":"mia","write":true,"liveControl":false}`, wantStatus: 200, wantSuccess: true},
		"delete by OpenAPI name":     {path: "/projects/collaboration/delete", body: `{"projectId":10,"collaboratorId":"mia"}`, wantStatus: 200, wantSuccess: true},
		"delete owner":               {path: "/projects/collaboration/delete", body: `{"projectId":10,"collaboratorUserId":"owner"}`, wantStatus: 200, wantErr: "owner"},
		"unknown endpoint":           {path: "/projects/collaboration/list", body: `{}`, wantStatus: 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, base := start(t)
			h := map[string]string{"Timestamp": goodTS, "Authorization": goodAuth}
			switch tc.ts {
			case "stale":
				h["Timestamp"], h["Authorization"] = sign("1", token, now.Add(-6*time.Minute).Unix())
			case "none":
				delete(h, "Timestamp")
			}
			switch tc.auth {
			case "wrong":
				_, h["Authorization"] = sign("1", "not-the-token", now.Unix())
			case "none":
				delete(h, "Authorization")
			case "user":
				_, h["Authorization"] = sign("2", token, now.Unix())
			}
			if tc.body != "" {
				h["Content-Type"] = jsonType
				if tc.ctype != "" {
					h["Content-Type"] = tc.ctype
				}
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			got := do(t, method, base+tc.path, h, tc.body)
			if got.Status != tc.wantStatus || got.Success != tc.wantSuccess {
				t.Fatalf("got %+v, want status %d success %v", got, tc.wantStatus, tc.wantSuccess)
			}
			if tc.wantStatus == 401 && !got.WWWAuth {
				t.Error("401 without www_authenticate header")
			}
			if tc.wantErr != "" && !strings.Contains(strings.Join(got.Errors, " "), tc.wantErr) {
				t.Errorf("errors %q lack %q", got.Errors, tc.wantErr)
			}
		})
	}
}

func TestOutOfBandState(t *testing.T) {
	s, _ := start(t)
	if err := s.SetCollaborator(10, "mia", true, false); err != nil {
		t.Fatal(err)
	}
	list, _ := s.Collaborators(10)
	want := []sim.Collaborator{
		{UID: 1, PublicID: "owner", Permission: "write", LiveControl: true, Owner: true},
		{UID: 2, PublicID: "mia", Permission: "read", LiveControl: true},
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Fatalf("list (-want +got):\n%s", diff)
	}
	if !s.RemoveCollaborator(10, "mia") || s.RemoveCollaborator(10, "mia") {
		t.Fatal("remove did not report presence")
	}
	if err := s.SetCollaborator(10, "owner", true, true); err == nil {
		t.Fatal("the owner was made a collaborator")
	}
}
