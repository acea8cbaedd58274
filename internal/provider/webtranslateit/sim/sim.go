// Package sim is a strict, in-memory simulator of WebTranslateIt's one
// organization collaboration endpoint,
// DELETE /api/organizations/:organization_token/collaborations?email=...,
// for tests (through httptest) and for the demo binary.
//
// Answers:
//   - 200 {} when the member is removed (emails match case-insensitively);
//   - 404 {"error":"email parameter not found."} without an email;
//   - 404 {"error":"Couldn't find this collaborator on that organization."}
//     for a non-member;
//   - 404 {"error":"Failed to delete enrollment."} only when injected with
//     FailDeletes;
//   - 401 {"error":"Invalid organization API token."} for an unknown token.
//     WebTranslateIt does not document this case; we answer 401 so that the
//     client's Unauthorized path is exercised, while the client also treats
//     an unrecognised 404 as Rejected, never as "already gone";
//   - 405 for any other method, 404 for any other path.
//
// Routing uses the escaped path, so a token holding '/' or '?' must arrive
// escaped to match.
package sim

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// The documented messages.
const (
	// MsgNoEmail is answered when the email parameter is missing.
	MsgNoEmail = "email parameter not found."
	// MsgNotMember is answered for a person who is not a member.
	MsgNotMember = "Couldn't find this collaborator on that organization."
	// MsgFailed is the generic failure, answered only when injected.
	MsgFailed = "Failed to delete enrollment."
)

// Organization is an organization, its token and its members.
type Organization struct {
	// Name is for people reading the seed.
	Name string `json:"name,omitempty"`
	// Token is the read-write organization API token.
	Token string `json:"token"`
	// Members are the members' emails.
	Members []string `json:"members"`
}

// Seed is the initial state; the simulator binary reads it from its seed
// file under "webTranslateIt".
type Seed struct {
	// Organizations are the organizations.
	Organizations []Organization `json:"organizations"`
}

// Server is the simulator: an http.Handler, safe for concurrent use, with
// the embedded Kit for the request log and fault injection.
type Server struct {
	*simkit.Kit

	handler http.Handler

	mu   sync.Mutex
	orgs map[string]map[string]string // token -> lower-case email -> email
}

// New returns an empty simulator.
func New() *Server {
	s := &Server{orgs: map[string]map[string]string{}}
	s.Kit = &simkit.Kit{Redact: s.redact}
	s.handler = s.Wrap(http.HandlerFunc(s.serve))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Seed adds the seed's organizations.
func (s *Server) Seed(seed Seed) error {
	for _, o := range seed.Organizations {
		s.AddOrganization(o.Token, o.Members...)
	}
	return nil
}

// AddOrganization adds an organization (or members to it).
func (s *Server) AddOrganization(token string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.orgs[token] == nil {
		s.orgs[token] = map[string]string{}
	}
	for _, m := range members {
		s.orgs[token][strings.ToLower(m)] = m
	}
}

// AddMember adds a member out of band.
func (s *Server) AddMember(token, email string) { s.AddOrganization(token, email) }

// RemoveMember removes a member out of band; it reports whether there was one.
func (s *Server) RemoveMember(token, email string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return simkit.DeleteNested(s.orgs, token, strings.ToLower(email))
}

// Members lists an organization's members, sorted.
func (s *Server) Members(token string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.orgs[token]))
	for _, m := range s.orgs[token] {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// IsMember reports whether email is a member.
func (s *Server) IsMember(token, email string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.orgs[token][strings.ToLower(email)]
	return ok
}

// FailDeletes makes the next n requests answer 404 "Failed to delete
// enrollment.", the documented generic failure.
func (s *Server) FailDeletes(n int) {
	s.FailNext(n, http.StatusNotFound, `{"error":"`+MsgFailed+`"}`)
}

// redact hides every known token in logged paths, escaped or not.
func (s *Server) redact(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.orgs {
		text = httpapi.Secrets{tok}.Scrub(text)
	}
	return text
}

func fail(w http.ResponseWriter, status int, msg string) {
	simkit.WriteJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	segs, err := httpapi.SplitEscapedPath(r.URL.EscapedPath())
	if err != nil || len(segs) != 4 || segs[0] != "api" || segs[1] != "organizations" || segs[3] != "collaborations" {
		fail(w, http.StatusNotFound, "Not found.")
		return
	}
	if r.Method != http.MethodDelete {
		w.Header().Set("Allow", http.MethodDelete)
		fail(w, http.StatusMethodNotAllowed, "Only DELETE is supported.")
		return
	}
	token := segs[2]
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		fail(w, http.StatusBadRequest, "Malformed query.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	org, ok := s.orgs[token]
	if !ok {
		fail(w, http.StatusUnauthorized, "Invalid organization API token.")
		return
	}
	email := query.Get("email")
	if email == "" {
		fail(w, http.StatusNotFound, MsgNoEmail)
		return
	}
	key := strings.ToLower(email)
	if _, ok := org[key]; !ok {
		fail(w, http.StatusNotFound, MsgNotMember)
		return
	}
	delete(org, key)
	simkit.WriteJSON(w, http.StatusOK, map[string]any{})
}
