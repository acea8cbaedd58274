// Package httpapi is the HTTP plumbing the provider clients share: building
// URLs from escaped segments, sending a request with a bounded body read,
// and turning transport failures and error statuses into *provider.Error
// values that never carry a credential.
//
// It exists because the three providers differ in payloads but not in how a
// failure must be classified and scrubbed; one implementation means one
// place to get the redaction right.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/readcache"
)

// MaxBodyBytes bounds how much of a response body is read, so that a
// misbehaving server cannot make the operator allocate without limit.
const MaxBodyBytes = 1 << 20

// DefaultTimeout is the per-request timeout when none is configured; long
// enough for a slow SaaS, short enough that a hung one does not stall a
// reconcile worker for minutes.
const DefaultTimeout = 30 * time.Second

// Redacted replaces credentials in every message this package builds.
const Redacted = "<redacted>"

// Secrets are credential strings that must not appear in error text. Each
// is also scrubbed in its path- and query-escaped forms, because that is how
// a token in a URL shows up in Go's transport errors.
type Secrets []string

// Scrub returns text with every form of every secret replaced.
func (s Secrets) Scrub(text string) string {
	for _, secret := range s {
		if secret == "" {
			continue
		}
		for _, form := range []string{secret, url.PathEscape(secret), url.QueryEscape(secret)} {
			text = strings.ReplaceAll(text, form, Redacted)
		}
	}
	return text
}

// Settings are the transport options every provider package accepts.
type Settings struct {
	// HTTPClient, when set, is copied and used; its Timeout is kept unless
	// zero.
	HTTPClient *http.Client
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock, for Retry-After dates and request signatures.
	Now func() time.Time
	// CacheTTL is how long a provider that caches whole-list reads reuses
	// one; 0 disables reuse (concurrent reads still share a request).
	// NewSettings defaults it to readcache.DefaultTTL; providers without a
	// read cache ignore it.
	CacheTTL time.Duration
	// Observer, when set, is told of every request that goes out, every
	// wait for a request budget and every read a snapshot saved (the
	// metrics).
	Observer Observer
	// Budgets are the factory's request budgets, one per set of
	// credentials; NewSettings makes them.
	Budgets *Budgets
	// Budget is the budget a Client spends from; a factory sets it per
	// client from Budgets. Nil spends from none.
	Budget *Budget
}

// Observer is told what the provider clients do, for metrics. Its methods
// must be cheap and safe for concurrent use.
type Observer interface {
	// Request is one HTTP request that went out, its outcome ("success",
	// or the provider.Class name of a failed status or transport error)
	// and its duration.
	Request(providerName, op, outcome string, d time.Duration)
	// BudgetWait is the time a request waited for its request budget.
	BudgetWait(providerName string, d time.Duration)
	// SnapshotHit is one read served from a shared snapshot instead of
	// the provider.
	SnapshotHit(providerName string)
}

// Option configures a provider's factory or APIClient.
type Option func(*Settings)

// NewSettings returns the Settings that opts make, starting from the
// defaults (CacheTTL readcache.DefaultTTL; zero Timeout and nil Now, which
// NewClient fills).
func NewSettings(opts ...Option) Settings {
	s := Settings{CacheTTL: readcache.DefaultTTL, Budgets: NewBudgets()}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// WithHTTPClient sends requests with hc (copied; its Timeout is kept unless
// zero), for example to trust a test CA.
func WithHTTPClient(hc *http.Client) Option { return func(s *Settings) { s.HTTPClient = hc } }

// WithMaxInFlight bounds how many requests made with one set of
// credentials may await their answers at once (see Budget.Take): the
// manager sets it below its number of workers, so that one tenant's slow
// provider never holds them all. 0 is no bound.
func WithMaxInFlight(n int) Option { return func(s *Settings) { s.Budgets.maxInFlight = n } }

// WithTimeout bounds each request; the default is DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(s *Settings) { s.Timeout = d } }

// WithClock replaces time.Now, which reads Retry-After dates and, for
// QuantConnect, signs every request, so tests can pin the Timestamp header.
func WithClock(now func() time.Time) Option { return func(s *Settings) { s.Now = now } }

// ForCredentials returns the settings of one client: s with the request
// budget of cfg's credentials and base URL, shared with every other client
// of the same factory that uses them.
func (s Settings) ForCredentials(cfg provider.Config) Settings {
	if s.Budgets != nil {
		s.Budget = s.Budgets.For(cfg.BaseURL+"\x00"+cfg.Credentials.Fingerprint(), cfg.RequestsPerSecond, cfg.Burst)
	}
	return s
}

// WithObserver reports requests, budget waits and snapshot hits to o.
func WithObserver(o Observer) Option { return func(s *Settings) { s.Observer = o } }

// WithCacheTTL sets how long a project's or application's collaborator list
// is reused by Observe; 0 disables reuse (concurrent reads still share one
// request). WebTranslateIt has no reads and ignores it.
func WithCacheTTL(d time.Duration) Option { return func(s *Settings) { s.CacheTTL = d } }

// Client sends requests for one provider and classifies their failures.
type Client struct {
	// Provider names the provider in errors.
	Provider string
	// HTTP sends the requests.
	HTTP *http.Client
	// Secrets are scrubbed from every error message.
	Secrets Secrets
	// Now is the clock for Retry-After dates.
	Now func() time.Time
	// Budget, when set, is waited on before every request and paused by
	// every rate-limit answer.
	Budget *Budget
	// Observer, when set, is told of every request and budget wait.
	Observer Observer
}

// NewClient builds a Client from settings, filling the defaults.
func NewClient(providerName string, s Settings, secrets Secrets) *Client {
	hc := &http.Client{}
	if s.HTTPClient != nil {
		copied := *s.HTTPClient
		hc = &copied
	}
	if hc.Timeout == 0 {
		hc.Timeout = s.Timeout
		if hc.Timeout <= 0 {
			hc.Timeout = DefaultTimeout
		}
	}
	// Never follow a redirect: Go's client would turn a DELETE, PUT or
	// POST into a GET and report the page it lands on, so a redirecting
	// base URL would pass a revocation that never happened for success,
	// and a redirect to another host would carry requests away from the
	// provider. Do turns every 3xx into a failure instead.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	now := s.Now
	if now == nil {
		now = time.Now
	}
	return &Client{Provider: providerName, HTTP: hc, Secrets: secrets, Now: now, Budget: s.Budget, Observer: s.Observer}
}

// Response is a fully read, closed response.
type Response struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Header is the response header.
	Header http.Header
	// Body is at most MaxBodyBytes of the body.
	Body []byte
	// URL is the request URL, for resolving a relative Location.
	URL *url.URL
}

// Do sends req and reads its body. A transport failure comes back as a
// *provider.Error of ClassUnavailable whose message is rebuilt from scrubbed
// parts: *url.Error prints the whole URL, and WebTranslateIt's token is in
// the path.
func (c *Client) Do(op string, req *http.Request) (*Response, error) {
	if c.Budget != nil {
		release, waited, err := c.Budget.Take(req.Context())
		if release != nil {
			defer release()
		}
		if c.Observer != nil {
			c.Observer.BudgetWait(c.Provider, waited)
		}
		var spent *SpentError
		if errors.As(err, &spent) {
			// Nothing was sent: the caller comes back when the budget
			// allows, instead of holding its worker until then.
			return nil, &provider.Error{Provider: c.Provider, Op: op, Class: provider.ClassRateLimited,
				RetryAfter: spent.Wait, Message: spent.Error()}
		}
		if err != nil {
			return nil, &provider.Error{Provider: c.Provider, Op: op, Class: provider.ClassUnavailable, Message: err.Error()}
		}
	}
	start := time.Now()
	r, err := c.do(op, req)
	if c.Observer != nil {
		outcome := "success"
		switch {
		case err != nil:
			outcome = provider.ClassOf(err).String()
		case r.StatusCode < 200 || r.StatusCode > 299:
			outcome = ClassForStatus(r.StatusCode).String()
		}
		c.Observer.Request(c.Provider, op, outcome, time.Since(start))
	}
	if c.Budget != nil && err == nil {
		if r.StatusCode == http.StatusTooManyRequests {
			c.Budget.Pause(RetryAfter(r.Header.Get("Retry-After"), c.Now()))
		} else if r.StatusCode >= 200 && r.StatusCode <= 299 {
			c.Budget.Succeeded()
		}
	}
	return r, err
}

// RateLimited pauses the client's budget for an answer that signals a rate
// limit without a 429 (QuantConnect's HTTP 200 with success:false): every
// caller of these credentials waits, not only the one that was answered.
func (c *Client) RateLimited(retryAfter time.Duration) {
	if c.Budget != nil {
		c.Budget.Pause(retryAfter)
	}
}

func (c *Client) do(op string, req *http.Request) (*Response, error) {
	// The URL is built on the ProviderConfig's baseURL: calling the API the
	// user configured is the operator's purpose, and the CRD admits only
	// absolute http or https URLs.
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, c.transportError(op, req, err)
	}
	defer func() {
		// Drain a little so the connection can be reused, then close.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, c.transportError(op, req, err)
	}
	if len(body) > MaxBodyBytes {
		return nil, &provider.Error{
			Provider: c.Provider, Op: op, Class: provider.ClassUnavailable, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("response body larger than %d bytes", MaxBodyBytes),
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		return nil, c.redirectError(op, resp)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body, URL: req.URL}, nil
}

// redirectError reports a 3xx, which no provider API documents: the base
// URL points at something other than the API (a web page, a proxy, a moved
// host). Only a person can fix that, so it is ClassRejected.
func (c *Client) redirectError(op string, resp *http.Response) *provider.Error {
	where := "no Location"
	if loc := resp.Header.Get("Location"); loc != "" {
		where = "Location " + Shorten(loc)
	}
	return &provider.Error{
		Provider: c.Provider, Op: op, Class: provider.ClassRejected, StatusCode: resp.StatusCode,
		Message: c.Secrets.Scrub(fmt.Sprintf("redirect (%s) not followed: provider clients never follow redirects; "+
			"set the ProviderConfig's baseURL to the provider's API itself", where)),
	}
}

func (c *Client) transportError(op string, req *http.Request, err error) *provider.Error {
	where := "the provider"
	if req != nil && req.URL != nil {
		where = req.URL.Scheme + "://" + req.URL.Host
	}
	var msg string
	var netErr net.Error
	switch {
	case req != nil && req.Context().Err() != nil:
		msg = fmt.Sprintf("request to %s abandoned: %s", where, req.Context().Err())
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		msg = fmt.Sprintf("request to %s timed out after %s", where, c.HTTP.Timeout)
	default:
		inner := err
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			// Never print urlErr itself: its text holds the full URL.
			inner = urlErr.Err
		}
		msg = fmt.Sprintf("connection to %s failed: %s", where, inner)
	}
	return &provider.Error{
		Provider: c.Provider, Op: op, Class: provider.ClassUnavailable,
		Message: c.Secrets.Scrub(msg),
	}
}

// StatusError builds the error for a response the caller considers failed,
// with the provider's own message (scrubbed and shortened) and, for 429, the
// Retry-After it asked for.
func (c *Client) StatusError(op string, resp *Response, class provider.Class, message string) *provider.Error {
	e := &provider.Error{
		Provider: c.Provider, Op: op, Class: class, StatusCode: resp.StatusCode,
		Message: c.Secrets.Scrub(Shorten(message)),
	}
	if resp.StatusCode == http.StatusTooManyRequests || class == provider.ClassRateLimited {
		e.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), c.Now())
	}
	return e
}

// ClassForStatus is the class of a failed HTTP status as the API contract
// defines it: 401/403 are credentials, 404 is absence, 429 is rate limiting,
// 5xx and 408 are worth retrying, and any other 4xx needs a person.
func ClassForStatus(code int) provider.Class {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return provider.ClassUnauthorized
	case code == http.StatusNotFound:
		return provider.ClassNotFound
	case code == http.StatusTooManyRequests:
		return provider.ClassRateLimited
	case code == http.StatusRequestTimeout || code >= 500:
		return provider.ClassUnavailable
	case code >= 400:
		return provider.ClassRejected
	default:
		return provider.ClassUnknown
	}
}

// RetryAfter parses a Retry-After value, delay-seconds or HTTP date, into a
// non-negative duration; unparsable or absent gives zero, letting the caller
// fall back to its own backoff.
func RetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0
		}
		// Cap absurd values rather than overflow.
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(value); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Shorten keeps a provider message readable in a condition: whitespace is
// collapsed, control characters dropped, and the text cut at 300 runes.
func Shorten(s string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range strings.TrimSpace(s) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if unicode.IsControl(r) {
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if n == 300 {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// ParseBaseURL checks that raw is an absolute http or https URL and drops a
// query or fragment, which no provider's base URL carries.
func ParseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q must be an absolute http or https URL", u.Redacted())
	}
	if u.User != nil {
		return nil, errors.New("base URL must not carry user information; credentials come from the Secret")
	}
	for seg := range strings.SplitSeq(u.EscapedPath(), "/") {
		if seg == "." || seg == ".." {
			return nil, fmt.Errorf("base URL %q must not contain . or .. path segments", u.Redacted())
		}
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	return u, nil
}

// JoinURL appends path segments to base, escaping each so that a slug, id
// or token holding '/', '?', '%' or a dot segment stays one segment and can
// never address another resource. base keeps its own path (/api/v2), with
// or without a trailing slash. Segments are escaped exactly once; literal
// segments such as "projects" pass through unchanged.
func JoinURL(base *url.URL, segments ...string) *url.URL {
	u := *base
	escaped := strings.TrimRight(base.EscapedPath(), "/")
	for _, s := range segments {
		escaped += "/" + EscapeSegment(s)
	}
	// Set both forms; EscapedPath uses RawPath because it is a valid
	// encoding of Path, so the escaping survives onto the wire.
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		// Cannot happen: every part was produced by EscapedPath or PathEscape.
		unescaped = escaped
	}
	u.Path = unescaped
	u.RawPath = escaped
	u.RawQuery = ""
	return &u
}

// EscapeSegment is url.PathEscape plus the dot segments, which servers and
// proxies would otherwise resolve to the parent path.
func EscapeSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

// SplitEscapedPath splits an escaped path into unescaped segments, the
// inverse of JoinURL; simulators route on it and fuzz tests check with it.
func SplitEscapedPath(escaped string) ([]string, error) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	out := make([]string, len(parts))
	for i, p := range parts {
		s, err := url.PathUnescape(p)
		if err != nil {
			return nil, fmt.Errorf("unescaping path segment %d: %w", i, err)
		}
		out[i] = s
	}
	return out, nil
}
