// Package webtranslateit removes people from a WebTranslateIt organization.
// The API documents one endpoint,
// DELETE /api/organizations/:organization_token/collaborations?email=...,
// so its Capabilities are empty (Observe, Create and Update return errors
// wrapping provider.ErrUnsupported), and the reconciler reports such
// Collaborators as DeleteOnly.
//
// The organization token is part of the URL path. Go's transport errors
// print the whole URL, so every error here is rebuilt from scrubbed parts.
package webtranslateit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
)

// DefaultBaseURL is WebTranslateIt's API host.
const DefaultBaseURL = "https://webtranslateit.com"

const providerName = collabv1alpha1.ProviderWebTranslateIt

// APIClient calls the WebTranslateIt organization API with one
// organization token. It is safe for concurrent use.
type APIClient struct {
	base  *url.URL
	token string
	http  *httpapi.Client
}

// NewAPIClient checks the base URL and token and returns a client.
func NewAPIClient(baseURL, organizationToken string, opts ...httpapi.Option) (*APIClient, error) {
	return newAPIClient(baseURL, organizationToken, httpapi.NewSettings(opts...))
}

func newAPIClient(baseURL, organizationToken string, s httpapi.Settings) (*APIClient, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	base, err := httpapi.ParseBaseURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("WebTranslateIt: %w", err)
	}
	if organizationToken == "" {
		return nil, errors.New("WebTranslateIt: organization token is required")
	}
	return &APIClient{base: base, token: organizationToken,
		http: httpapi.NewClient(providerName, s, httpapi.Secrets{organizationToken})}, nil
}

// newRequest builds the DELETE; the token and email are escaped so that
// neither can address another path or add query parameters.
func (a *APIClient) newRequest(ctx context.Context, email string) (*http.Request, error) {
	u := httpapi.JoinURL(a.base, "api", "organizations", a.token, "collaborations")
	u.RawQuery = url.Values{"email": {email}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.String(), http.NoBody)
	if err != nil {
		// The error text would hold the URL and so the token.
		return nil, errors.New("building request: invalid URL")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// Outcome is what a failed delete's message means.
type Outcome int

const (
	// OutcomeUnknown is a message none of the documented ones matches.
	OutcomeUnknown Outcome = iota
	// OutcomeGone is "Couldn't find this collaborator on that organization."
	OutcomeGone
	// OutcomeFailed is "Failed to delete enrollment.", worth retrying.
	OutcomeFailed
	// OutcomeNoEmail is "email parameter not found."
	OutcomeNoEmail
)

// DeleteCollaboration removes the person with email from the organization.
// A person who is not a member is success: that is the goal of a delete.
func (a *APIClient) DeleteCollaboration(ctx context.Context, email string) error {
	const op = "delete collaboration"
	if email == "" {
		return &provider.Error{Provider: providerName, Op: op, Class: provider.ClassRejected, Message: "email is empty"}
	}
	req, err := a.newRequest(ctx, email)
	if err != nil {
		return &provider.Error{Provider: providerName, Op: op, Class: provider.ClassRejected, Message: err.Error()}
	}
	resp, err := a.http.Do(op, req)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	messages := collectStrings(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		outcome, msg := Classify(messages)
		switch outcome {
		case OutcomeGone:
			return nil
		case OutcomeFailed:
			return a.http.StatusError(op, resp, provider.ClassUnavailable, msg)
		case OutcomeNoEmail:
			return a.http.StatusError(op, resp, provider.ClassRejected, msg)
		}
		// An unrecognised 404 is not taken as "gone": the token is the
		// path, so a 404 without one of the three documented messages
		// means the path names no organization, which is a wrong token (or
		// a base URL that is not the API). Deleting nothing must not pass
		// for success, and the credentials are what a person should check
		// first, so it is ClassUnauthorized (CredentialsInvalid).
		if msg == "" {
			msg = "not found"
		}
		return a.http.StatusError(op, resp, provider.ClassUnauthorized,
			msg+" (none of WebTranslateIt's documented answers: the organization token, or the base URL, addresses no organization)")
	}
	msg := strings.Join(messages, "; ")
	if msg == "" && len(resp.Body) > 0 && !json.Valid(resp.Body) {
		msg = string(resp.Body)
	}
	return a.http.StatusError(op, resp, httpapi.ClassForStatus(resp.StatusCode), msg)
}

// Classify matches the documented messages tolerantly (case, spacing,
// punctuation, apostrophe style), wherever in the JSON hash they are.
// It returns the outcome and the message it matched, or the first message.
func Classify(messages []string) (Outcome, string) {
	for _, m := range messages {
		n := normalize(m)
		switch {
		case strings.Contains(n, "email parameter") || (strings.Contains(n, "email") && strings.Contains(n, "parameter")):
			return OutcomeNoEmail, m
		case strings.Contains(n, "failed to delete") || strings.Contains(n, "enrollment"):
			return OutcomeFailed, m
		case strings.Contains(n, "collaborator") &&
			(strings.Contains(n, "couldn't find") || strings.Contains(n, "could not find") ||
				strings.Contains(n, "couldnt find") || strings.Contains(n, "not found")):
			return OutcomeGone, m
		}
	}
	if len(messages) > 0 {
		return OutcomeUnknown, messages[0]
	}
	return OutcomeUnknown, ""
}

func normalize(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("\u2019", "'", "\u2018", "'", "`", "'").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// collectStrings returns every string value in a JSON document, in a stable
// order, so that {"error": "..."}, {"message": "..."}, {"errors": [...]}
// and nested shapes all work. A non-JSON body is one message.
func collectStrings(body []byte) []string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		if s := strings.TrimSpace(string(body)); s != "" {
			return []string{s}
		}
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case string:
			if strings.TrimSpace(t) != "" {
				out = append(out, t)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			// Conventional keys first, then the rest in order.
			sortKeys(keys)
			for _, k := range keys {
				walk(t[k])
			}
		}
	}
	walk(v)
	return out
}

func sortKeys(keys []string) {
	rank := func(k string) int {
		switch strings.ToLower(k) {
		case "error":
			return 0
		case "errors":
			return 1
		case "message":
			return 2
		}
		return 3
	}
	sort.Slice(keys, func(i, j int) bool {
		if rank(keys[i]) != rank(keys[j]) {
			return rank(keys[i]) < rank(keys[j])
		}
		return keys[i] < keys[j]
	})
}

// NewFactory returns the provider.Factory for WebTranslateIt.
func NewFactory(opts ...httpapi.Option) provider.Factory {
	s := httpapi.NewSettings(opts...)
	return func(cfg provider.Config) (provider.Client, error) {
		token := strings.TrimSpace(string(cfg.Credentials[collabv1alpha1.WebTranslateItOrganizationTokenKey]))
		if token == "" {
			return nil, fmt.Errorf("WebTranslateIt credentials Secret lacks non-empty key %s", collabv1alpha1.WebTranslateItOrganizationTokenKey)
		}
		api, err := newAPIClient(cfg.BaseURL, token, s.ForCredentials(cfg))
		if err != nil {
			return nil, err
		}
		return &Client{api: api}, nil
	}
}

// Client adapts APIClient to provider.Client. Only Delete does anything.
type Client struct {
	api *APIClient
}

var _ provider.Client = (*Client)(nil)

// Capabilities: WebTranslateIt documents only a delete, and nothing to
// read it back with.
func (c *Client) Capabilities() provider.Capabilities { return provider.Capabilities{} }

// API returns the raw API client.
func (c *Client) API() *APIClient { return c.api }

func unsupported(op string) error {
	return fmt.Errorf("WebTranslateIt %s: the API offers only a delete: %w", op, provider.ErrUnsupported)
}

// Observe is not offered by WebTranslateIt's API.
func (c *Client) Observe(context.Context, *collabv1alpha1.Collaborator) (provider.Observation, error) {
	return provider.Observation{}, unsupported("read collaboration")
}

// Create is not offered by WebTranslateIt's API.
func (c *Client) Create(context.Context, *collabv1alpha1.Collaborator) (provider.Creation, error) {
	return provider.Creation{}, unsupported("create collaboration")
}

// Update is not offered by WebTranslateIt's API.
func (c *Client) Update(context.Context, *collabv1alpha1.Collaborator) error {
	return unsupported("update collaboration")
}

// Delete removes the person from the organization; one who is not a member
// is success.
func (c *Client) Delete(ctx context.Context, col *collabv1alpha1.Collaborator) error {
	if col == nil || col.Spec.WebTranslateIt == nil {
		return &provider.Error{Provider: providerName, Op: "delete collaboration", Class: provider.ClassRejected,
			Message: "the Collaborator has no webTranslateIt block"}
	}
	if err := c.api.DeleteCollaboration(ctx, col.Spec.WebTranslateIt.Email); err != nil {
		return fmt.Errorf("removing %s from the WebTranslateIt organization: %w", col.Spec.WebTranslateIt.Email, err)
	}
	return nil
}
