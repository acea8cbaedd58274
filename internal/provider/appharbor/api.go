// Package appharbor manages AppHarbor application collaborators. APIClient
// is the raw REST API; Client adapts it to provider.Client; NewFactory
// builds Clients that share one cache of application collaborator lists.
//
// AppHarbor knows a collaborator only by an opaque id that appears in the
// Location of its creation (and in the url of list items); its lists carry
// no email. So a Collaborator is found again only through the id the
// operator recorded in the collab.dev/external-id annotation, and Observe
// without an id reports the collaborator absent.
package appharbor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
)

// DefaultBaseURL is AppHarbor's API.
const DefaultBaseURL = "https://appharbor.com"

const providerName = collabv1alpha1.ProviderAppHarbor

// User is AppHarbor's user representation.
type User struct {
	// ID is AppHarbor's opaque user id.
	ID string `json:"id"`
	// Name is the user name.
	Name string `json:"name"`
}

// Collaborator is a collaborator as the list or detail answers describe it.
type Collaborator struct {
	// User is the person.
	User User `json:"user"`
	// Role is collaborator or administrator.
	Role string `json:"role"`
	// URL is the collaborator resource (list items only; filled from the
	// request for a detail read).
	URL string `json:"url,omitempty"`
	// ID is the collaborator id, the last segment of URL.
	ID string `json:"-"`
}

// APIClient calls the AppHarbor API with one access token. It is safe for
// concurrent use.
type APIClient struct {
	base  *url.URL
	token string
	http  *httpapi.Client
}

// NewAPIClient checks the base URL and token shape and returns a client.
func NewAPIClient(baseURL, accessToken string, opts ...httpapi.Option) (*APIClient, error) {
	return newAPIClient(baseURL, accessToken, httpapi.NewSettings(opts...))
}

func newAPIClient(baseURL, token string, s httpapi.Settings) (*APIClient, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	base, err := httpapi.ParseBaseURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("AppHarbor: %w", err)
	}
	if token == "" {
		return nil, errors.New("AppHarbor: access token is required")
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("AppHarbor: access token must not contain spaces or control characters")
	}
	return &APIClient{base: base, token: token, http: httpapi.NewClient(providerName, s, httpapi.Secrets{token})}, nil
}

// BaseURL is the API's base URL.
func (a *APIClient) BaseURL() string { return a.base.String() }

func checkSegments(op string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return &provider.Error{Provider: providerName, Op: op, Class: provider.ClassRejected, Message: pairs[i] + " is empty"}
		}
	}
	return nil
}

// ListCollaborators lists an application's collaborators, ordered by user
// name; each item's ID is taken from its url.
func (a *APIClient) ListCollaborators(ctx context.Context, slug string) ([]Collaborator, error) {
	const op = "list collaborators"
	if err := checkSegments(op, "application", slug); err != nil {
		return nil, err
	}
	resp, err := a.do(ctx, op, http.MethodGet, httpapi.JoinURL(a.base, "applications", slug, "collaborators"), nil)
	if err != nil {
		return nil, err
	}
	var list []Collaborator
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return nil, a.http.StatusError(op, resp, provider.ClassUnavailable, "unexpected answer: "+err.Error())
	}
	for i := range list {
		if id, err := IDFromURL(list[i].URL, resp.URL); err == nil {
			list[i].ID = id
		}
	}
	return list, nil
}

// GetCollaborator reads one collaborator; a missing one is ClassNotFound.
func (a *APIClient) GetCollaborator(ctx context.Context, slug, id string) (*Collaborator, error) {
	const op = "read collaborator"
	if err := checkSegments(op, "application", slug, "collaborator id", id); err != nil {
		return nil, err
	}
	u := httpapi.JoinURL(a.base, "applications", slug, "collaborators", id)
	resp, err := a.do(ctx, op, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	var c Collaborator
	if err := json.Unmarshal(resp.Body, &c); err != nil {
		return nil, a.http.StatusError(op, resp, provider.ClassUnavailable, "unexpected answer: "+err.Error())
	}
	c.ID = id
	if c.URL == "" {
		c.URL = u.String()
	}
	return &c, nil
}

// CreateCollaborator invites email with role and returns the new id and
// the Location it came from.
func (a *APIClient) CreateCollaborator(ctx context.Context, slug, email, role string) (id, location string, err error) {
	const op = "create collaborator"
	if err := checkSegments(op, "application", slug); err != nil {
		return "", "", err
	}
	body := map[string]string{"collaboratorEmail": email, "role": role}
	resp, err := a.do(ctx, op, http.MethodPost, httpapi.JoinURL(a.base, "applications", slug, "collaborators"), body)
	if err != nil {
		return "", "", err
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", "", a.http.StatusError(op, resp, provider.ClassUnavailable,
			"the collaborator was created but the answer has no Location header, so its id is unknown")
	}
	id, err = IDFromURL(loc, resp.URL)
	if err != nil {
		return "", "", a.http.StatusError(op, resp, provider.ClassUnavailable, "the answer's Location is unusable: "+err.Error())
	}
	abs := loc
	if u, perr := resp.URL.Parse(loc); perr == nil {
		abs = u.String()
	}
	return id, abs, nil
}

// UpdateCollaborator sets a collaborator's role.
func (a *APIClient) UpdateCollaborator(ctx context.Context, slug, id, role string) error {
	const op = "update collaborator"
	if err := checkSegments(op, "application", slug, "collaborator id", id); err != nil {
		return err
	}
	_, err := a.do(ctx, op, http.MethodPut, httpapi.JoinURL(a.base, "applications", slug, "collaborators", id), map[string]string{"role": role})
	return err
}

// DeleteCollaborator removes a collaborator; a missing one is
// ClassNotFound, which the adapter treats as success.
func (a *APIClient) DeleteCollaborator(ctx context.Context, slug, id string) error {
	const op = "delete collaborator"
	if err := checkSegments(op, "application", slug, "collaborator id", id); err != nil {
		return err
	}
	_, err := a.do(ctx, op, http.MethodDelete, httpapi.JoinURL(a.base, "applications", slug, "collaborators", id), nil)
	return err
}

// newRequest builds an authenticated request; body nil sends none.
func (a *APIClient) newRequest(ctx context.Context, method string, u *url.URL, body any) (*http.Request, error) {
	var r io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Authorization", "BEARER "+a.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func (a *APIClient) do(ctx context.Context, op, method string, u *url.URL, body any) (*httpapi.Response, error) {
	req, err := a.newRequest(ctx, method, u, body)
	if err != nil {
		return nil, &provider.Error{Provider: providerName, Op: op, Class: provider.ClassRejected, Message: a.http.Secrets.Scrub(err.Error())}
	}
	resp, err := a.http.Do(op, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := errorMessage(resp.Body)
		if resp.StatusCode == http.StatusPaymentRequired && msg == "" {
			msg = "payment required: the AppHarbor account's plan must be changed by a person"
		}
		return nil, a.http.StatusError(op, resp, httpapi.ClassForStatus(resp.StatusCode), msg)
	}
	return resp, nil
}

// errorMessage reads {"error":{"message":"..."}}, tolerating the other
// shapes APIs use and plain text.
func errorMessage(body []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &v) == nil {
		var nested struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(v.Error, &nested) == nil && nested.Message != "" {
			return nested.Message
		}
		var s string
		if json.Unmarshal(v.Error, &s) == nil && s != "" {
			return s
		}
		if v.Message != "" {
			return v.Message
		}
		return ""
	}
	return string(body)
}

// IDFromURL extracts a collaborator id from a Location or list url: the
// last path segment, unescaped. The URL may be absolute or relative to the
// request; ids hold '/', '+' and '=', so only the escaped path is split.
func IDFromURL(raw string, request *url.URL) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", errors.New("empty URL")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w", raw, err)
	}
	if request != nil {
		u = request.ResolveReference(u)
	}
	segs, err := httpapi.SplitEscapedPath(strings.TrimRight(u.EscapedPath(), "/"))
	if err != nil {
		return "", err
	}
	id := segs[len(segs)-1]
	if id == "" || (len(segs) >= 2 && id == "collaborators" && segs[len(segs)-2] != "collaborators") {
		return "", fmt.Errorf("no collaborator id in %q", u.EscapedPath())
	}
	return id, nil
}
