package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// The e2e test asks the simulators what they hold through the providers'
// own documented APIs, with the samples' credentials, exactly as one would
// check the real providers by hand; it needs nothing from the simulators
// that the real services lack.

// quantConnect reads project collaborators from QuantConnect's API.
type quantConnect struct {
	base, userID, token string
}

// qcMember is the part of QuantConnect's collaborator model the test reads.
type qcMember struct {
	PublicID    string `json:"publicId"`
	Permission  string `json:"permission"`
	LiveControl bool   `json:"liveControl"`
	Owner       bool   `json:"owner"`
}

// member finds userID among the project's collaborators.
func (q quantConnect) member(t *testing.T, projectID int64, userID string) (qcMember, bool) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sum := sha256.Sum256([]byte(q.token + ":" + ts))
	auth := base64.StdEncoding.EncodeToString([]byte(q.userID + ":" + hex.EncodeToString(sum[:])))
	body := fmt.Sprintf(`{"projectId":%d}`, projectID)
	var answer struct {
		Success       bool       `json:"success"`
		Errors        []string   `json:"errors"`
		Collaborators []qcMember `json:"collaborators"`
	}
	call(t, http.MethodPost, q.base+"/projects/collaboration/read", body, http.Header{
		"Timestamp":     {ts},
		"Authorization": {"Basic " + auth},
		"Content-Type":  {"application/json"},
	}, &answer)
	if !answer.Success {
		t.Fatalf("QuantConnect simulator refused /projects/collaboration/read: %v", answer.Errors)
	}
	for _, c := range answer.Collaborators {
		if c.PublicID == userID {
			return c, true
		}
	}
	return qcMember{}, false
}

// appHarbor reads collaborators from AppHarbor's API.
type appHarbor struct {
	base, token string
}

// role returns the role AppHarbor holds for a collaborator id.
func (a appHarbor) role(t *testing.T, app, id string) string {
	t.Helper()
	var answer struct {
		Role string `json:"role"`
	}
	call(t, http.MethodGet, a.base+"/applications/"+app+"/collaborators/"+id, "", http.Header{
		"Authorization": {"BEARER " + a.token},
		"Accept":        {"application/json"},
	}, &answer)
	return answer.Role
}

// webTranslateIt calls WebTranslateIt's one collaborator endpoint.
type webTranslateIt struct {
	base, token string
}

// deleteMessage removes email from the organization and returns the
// message of a 404 answer, or "" after a 200.
func (w webTranslateIt) deleteMessage(t *testing.T, email string) string {
	t.Helper()
	u := w.base + "/api/organizations/" + url.PathEscape(w.token) + "/collaborations?email=" + url.QueryEscape(email)
	status, data := send(t, http.MethodDelete, u, "", http.Header{"Accept": {"application/json"}})
	switch status {
	case http.StatusOK:
		return ""
	case http.StatusNotFound:
		// The documentation calls the body "a JSON hash" holding the
		// message, without naming the key: take the one string value.
		var hash map[string]any
		if err := json.Unmarshal(data, &hash); err != nil {
			t.Fatalf("WebTranslateIt simulator answered 404 with %s, not a JSON hash: %v", data, err)
		}
		for _, v := range hash {
			if s, ok := v.(string); ok {
				return s
			}
		}
		t.Fatalf("WebTranslateIt simulator answered 404 with %s, holding no message", data)
	default:
		t.Fatalf("WebTranslateIt simulator answered the delete with HTTP %d: %s", status, data)
	}
	return ""
}

// call sends one request and decodes a 200 answer into out.
func call(t *testing.T, method, target, body string, h http.Header, out any) {
	t.Helper()
	status, data := send(t, method, target, body, h)
	if status != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d: %s", method, target, status, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s: decoding %s: %v", method, target, data, err)
	}
}

// send sends one request and returns the answer's status and body.
func send(t *testing.T, method, target, body string, h http.Header) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, target, err)
	}
	return resp.StatusCode, data
}
