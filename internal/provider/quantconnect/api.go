// Package quantconnect manages QuantConnect project collaborators through
// the API v2 (https://www.quantconnect.com/api/v2). APIClient is the raw
// API; Client adapts it to provider.Client; NewFactory builds Clients that
// share one read cache, because a read returns a whole project's list and
// thousands of Collaborators share tens of projects.
package quantconnect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
)

// DefaultBaseURL is QuantConnect's API v2; the path is part of it.
const DefaultBaseURL = "https://www.quantconnect.com/api/v2"

const providerName = collabv1alpha1.ProviderQuantConnect

// Collaborator is QuantConnect's collaborator model.
type Collaborator struct {
	// UID is QuantConnect's numeric user id.
	UID int64 `json:"uid"`
	// LiveControl says whether the user controls live algorithms.
	LiveControl bool `json:"liveControl"`
	// Permission is "read" or "write".
	Permission string `json:"permission"`
	// PublicID is the user id used in requests and profile URLs.
	PublicID string `json:"publicId"`
	// ProfileImage is the URL of the user's picture.
	ProfileImage string `json:"profileImage,omitempty"`
	// Email is the user's registered email.
	Email string `json:"email,omitempty"`
	// Name is the user's display name.
	Name string `json:"name,omitempty"`
	// Bio is the user's biography.
	Bio string `json:"bio,omitempty"`
	// Owner says whether the user owns the project.
	Owner bool `json:"owner"`
}

// ReadResult is the answer of /projects/collaboration/read.
type ReadResult struct {
	// Collaborators lists every collaborator, the owner included.
	Collaborators []Collaborator `json:"collaborators"`
	// UserLiveControl is the caller's own live control on the project.
	UserLiveControl bool `json:"userLiveControl"`
	// UserPermissions is the caller's own permission on the project.
	UserPermissions string `json:"userPermissions"`
}

// CreateRequest is the body of /projects/collaboration/create; every field
// is required by the API, so none is omitted when false.
type CreateRequest struct {
	// ProjectID is the project to share.
	ProjectID int64 `json:"projectId"`
	// CollaboratorUserID is the public user id to add.
	CollaboratorUserID string `json:"collaboratorUserId"`
	// LiveControl grants live control.
	LiveControl bool `json:"collaborationLiveControl"`
	// Write grants write permission.
	Write bool `json:"collaborationWrite"`
}

// UpdateRequest is the body of /projects/collaboration/update; the
// published model marks both booleans required, so both are always sent.
type UpdateRequest struct {
	// ProjectID is the project.
	ProjectID int64 `json:"projectId"`
	// CollaboratorUserID is the public user id to change.
	CollaboratorUserID string `json:"collaboratorUserId"`
	// LiveControl is the wanted live control.
	LiveControl bool `json:"liveControl"`
	// Write is the wanted write permission.
	Write bool `json:"write"`
}

// APIClient calls the QuantConnect API with one user's credentials. It is
// safe for concurrent use.
type APIClient struct {
	base   *url.URL
	userID string
	token  string
	http   *httpapi.Client
}

// NewAPIClient checks the base URL and credentials' shape and returns a
// client. The token is only ever sent hashed with a timestamp.
func NewAPIClient(baseURL, userID, apiToken string, opts ...httpapi.Option) (*APIClient, error) {
	return newAPIClient(baseURL, userID, apiToken, httpapi.NewSettings(opts...))
}

func newAPIClient(baseURL, userID, apiToken string, s httpapi.Settings) (*APIClient, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	base, err := httpapi.ParseBaseURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("QuantConnect: %w", err)
	}
	if userID == "" || apiToken == "" {
		return nil, fmt.Errorf("QuantConnect: user id and API token are required")
	}
	if strings.Contains(userID, ":") || strings.ContainsFunc(userID, isControl) {
		return nil, fmt.Errorf("QuantConnect: user id must not contain ':' or control characters")
	}
	return &APIClient{
		base: base, userID: userID, token: apiToken,
		http: httpapi.NewClient(providerName, s, httpapi.Secrets{apiToken}),
	}, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// BaseURL is the API's base URL, for cache keys and messages.
func (a *APIClient) BaseURL() string { return a.base.String() }

// Authenticate checks the credentials with POST /authenticate.
func (a *APIClient) Authenticate(ctx context.Context) error {
	var out struct{}
	return a.call(ctx, "authenticate", "authenticate", nil, &out)
}

// ReadCollaborators lists a project's collaborators, the owner included.
func (a *APIClient) ReadCollaborators(ctx context.Context, projectID int64) (*ReadResult, error) {
	var out ReadResult
	if err := a.call(ctx, "read collaborators", "projects/collaboration/read", map[string]int64{"projectId": projectID}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateCollaborator adds a collaborator and returns the project's list.
func (a *APIClient) CreateCollaborator(ctx context.Context, req CreateRequest) ([]Collaborator, error) {
	return a.write(ctx, "create collaborator", "projects/collaboration/create", req)
}

// UpdateCollaborator changes a collaborator and returns the project's list.
func (a *APIClient) UpdateCollaborator(ctx context.Context, req UpdateRequest) ([]Collaborator, error) {
	return a.write(ctx, "update collaborator", "projects/collaboration/update", req)
}

// DeleteCollaborator removes a collaborator and returns the project's list.
func (a *APIClient) DeleteCollaborator(ctx context.Context, projectID int64, userID string) ([]Collaborator, error) {
	body := struct {
		ProjectID          int64  `json:"projectId"`
		CollaboratorUserID string `json:"collaboratorUserId"`
	}{projectID, userID}
	return a.write(ctx, "delete collaborator", "projects/collaboration/delete", body)
}

// write makes a call that changes a project's collaborators; each such
// call answers with the project's list as it now is.
func (a *APIClient) write(ctx context.Context, op, path string, body any) ([]Collaborator, error) {
	var out struct {
		Collaborators []Collaborator `json:"collaborators"`
	}
	if err := a.call(ctx, op, path, body, &out); err != nil {
		return nil, err
	}
	return out.Collaborators, nil
}

// authorization computes the two auth headers for one request.
func (a *APIClient) authorization() (timestamp, authorization string) {
	timestamp = strconv.FormatInt(a.http.Now().Unix(), 10)
	sum := sha256.Sum256([]byte(a.token + ":" + timestamp))
	cred := a.userID + ":" + hex.EncodeToString(sum[:])
	return timestamp, "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
}

// newRequest builds the POST for path; body nil sends no body (as the
// documented /authenticate call does).
func (a *APIClient) newRequest(ctx context.Context, path string, body any) (*http.Request, error) {
	u := httpapi.JoinURL(a.base, strings.Split(path, "/")...)
	var buf *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		buf = bytes.NewReader(b)
	}
	var req *http.Request
	var err error
	if buf != nil {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, u.String(), buf)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, u.String(), http.NoBody)
	}
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	ts, auth := a.authorization()
	req.Header.Set("Timestamp", ts)
	req.Header.Set("Authorization", auth)
	return req, nil
}

// envelope is the part of every answer that says whether it worked.
type envelope struct {
	Success *bool           `json:"success"`
	Errors  json.RawMessage `json:"errors"`
	Message string          `json:"message"`
}

func (a *APIClient) call(ctx context.Context, op, path string, body, out any) error {
	req, err := a.newRequest(ctx, path, body)
	if err != nil {
		return &provider.Error{Provider: providerName, Op: op, Class: provider.ClassRejected, Message: a.http.Secrets.Scrub(err.Error())}
	}
	resp, err := a.http.Do(op, req)
	if err != nil {
		return err
	}
	var env envelope
	jsonErr := json.Unmarshal(resp.Body, &env)
	if resp.StatusCode != http.StatusOK {
		msg := ""
		if jsonErr == nil {
			msg = env.message()
		} else {
			msg = string(resp.Body)
		}
		if resp.StatusCode == http.StatusUnauthorized && msg == "" {
			msg = "credentials refused (wrong user id or token, or the clock is off)"
		}
		return a.http.StatusError(op, resp, statusClass(resp.StatusCode), msg)
	}
	if jsonErr != nil || env.Success == nil {
		return a.http.StatusError(op, resp, provider.ClassUnavailable, "unexpected answer: not a QuantConnect JSON result")
	}
	if !*env.Success {
		msg := env.message()
		if msg == "" {
			msg = "the request was refused without a message"
		}
		class := classifyRefusal(msg)
		if class == provider.ClassRateLimited {
			// QuantConnect's limit comes as HTTP 200 without Retry-After:
			// the whole budget of these credentials pauses, with backoff.
			a.http.RateLimited(0)
		}
		return a.http.StatusError(op, resp, class, msg)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return a.http.StatusError(op, resp, provider.ClassUnavailable, "unexpected answer: "+err.Error())
	}
	return nil
}

// message joins the errors however they are shaped (strings or objects).
func (e envelope) message() string {
	var parts []string
	var list []any
	if len(e.Errors) > 0 && json.Unmarshal(e.Errors, &list) == nil {
		for _, item := range list {
			parts = append(parts, strings.TrimSpace(fmt.Sprint(item)))
		}
	} else if len(e.Errors) > 0 {
		var s string
		if json.Unmarshal(e.Errors, &s) == nil {
			parts = append(parts, s)
		}
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	return strings.Join(parts, "; ")
}

// classifyRefusal classes a success=false answer. QuantConnect states
// refusals only in prose, so an unknown wording is Rejected: a person must
// read it. Whether the collaborator is absent is decided by re-reading the
// list, not from the wording.
func classifyRefusal(msg string) provider.Class {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "rate limit") || strings.Contains(m, "too many requests"):
		return provider.ClassRateLimited
	case strings.Contains(m, "internal error"):
		return provider.ClassUnavailable
	default:
		return provider.ClassRejected
	}
}

// statusClass classifies a non-200 answer. QuantConnect answers its own
// refusals, "not a collaborator" included, with HTTP 200 and success:false,
// so a 404 is never its word that something is absent: it means a wrong
// path (a base URL that passes the allow-list but is not the API) or a
// proxy in front of it. Taking it for absence would let a delete pass for
// done while the person stays, so it is a failure to retry and report.
func statusClass(code int) provider.Class {
	if code == http.StatusNotFound {
		return provider.ClassUnavailable
	}
	return httpapi.ClassForStatus(code)
}
