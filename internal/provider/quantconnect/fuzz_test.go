package quantconnect

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/providertest"
)

// FuzzRequest checks that any base path, user id, token and collaborator id
// yield a POST to exactly <base path>/projects/collaboration/delete, with a
// body that decodes to the same values and a signature over the token.
func FuzzRequest(f *testing.F) {
	f.Add("/api/v2", "1001", "tok", int64(23456789), "mia-ai")
	f.Add("/api/v2/", "42", "a:b/c?d", int64(1), "../../authenticate")
	f.Add("", "7", "ü%2F", int64(-5), "x/y?z#w")
	f.Add("/a%2Fb/v2", "9", " ", int64(0), "%2e%2e")
	f.Fuzz(func(t *testing.T, basePath, userID, token string, project int64, collaborator string) {
		if !utf8.ValidString(collaborator) {
			return // JSON cannot carry it; Kubernetes strings are UTF-8
		}
		a, err := NewAPIClient(providertest.FuzzBaseURL("example.com", basePath), userID, token, httpapi.WithClock(func() time.Time { return time.Unix(1_800_000_000, 0) }))
		if err != nil {
			return // refused up front: nothing is sent
		}
		body := map[string]any{"projectId": project, "collaboratorUserId": collaborator}
		req, err := a.newRequest(context.Background(), "projects/collaboration/delete", body)
		if err != nil {
			t.Fatalf("building request: %v", err)
		}
		if req.Method != "POST" {
			t.Fatalf("request %s, want POST", req.Method)
		}
		providertest.WirePath(t, a.base, req, "example.com", "projects", "collaboration", "delete")
		raw, _ := io.ReadAll(req.Body)
		var back struct {
			ProjectID          int64  `json:"projectId"`
			CollaboratorUserID string `json:"collaboratorUserId"`
		}
		if err := json.Unmarshal(raw, &back); err != nil || back.ProjectID != project || back.CollaboratorUserID != collaborator {
			t.Fatalf("body %s decodes to %+v (%v)", raw, back, err)
		}
		ts := req.Header.Get("Timestamp")
		if ts != strconv.FormatInt(1_800_000_000, 10) {
			t.Fatalf("timestamp %q", ts)
		}
		dec, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(req.Header.Get("Authorization"), "Basic "))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(token + ":" + ts))
		if string(dec) != userID+":"+hex.EncodeToString(sum[:]) {
			t.Fatalf("authorization decodes to %q", dec)
		}
	})
}
