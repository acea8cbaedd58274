// Package sim is a strict, in-memory simulator of AppHarbor's collaborator
// API, for tests (through httptest) and for the demo binary.
//
// What it refuses, and how:
//   - no token, or an unknown one (Authorization "Bearer"/"BEARER", any
//     case, or the access_token query parameter): 401;
//   - a missing Accept header or one without application/json: 406 (the
//     documentation says requests send it, and 406 is HTTP's answer);
//   - a POST or PUT without Content-Type application/json: 415;
//   - an unknown path, application slug or collaborator id: 404;
//   - a token without access to the application: 403 {"error":{"message":"Forbidden"}};
//   - another method on a route: 405;
//   - a body with unknown fields, a missing or unknown collaboratorEmail, a
//     role other than collaborator/administrator, or an email that already
//     collaborates: 400.
//
// Every error body is {"error":{"message":"..."}}. Collaborator ids are
// opaque base64 strings like the documentation's, and every other one
// contains '/' and '+', so a client that does not escape path segments
// fails. Routing uses the escaped path.
package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// Roles are the accepted roles.
var Roles = []string{"collaborator", "administrator"}

// User is an AppHarbor account.
type User struct {
	// ID is the opaque user id; generated when empty.
	ID string `json:"id,omitempty"`
	// Name is the user name, which orders lists.
	Name string `json:"name"`
	// Email is how collaborators are invited.
	Email string `json:"email"`
}

// Token is an access token and the applications it may manage.
type Token struct {
	// Token is the bearer token.
	Token string `json:"token"`
	// Applications are the slugs it can access.
	Applications []string `json:"applications"`
}

// SeedCollaborator is a collaborator present from the start.
type SeedCollaborator struct {
	// Email is the user's email.
	Email string `json:"email"`
	// Role is collaborator or administrator.
	Role string `json:"role"`
	// ID, when set, fixes the collaborator id (for adoption demos).
	ID string `json:"id,omitempty"`
}

// Application is an application and its collaborators.
type Application struct {
	// Slug names the application in URLs.
	Slug string `json:"slug"`
	// Collaborators are present from the start.
	Collaborators []SeedCollaborator `json:"collaborators,omitempty"`
}

// Seed is the initial state; the simulator binary reads it from its seed
// file under "appHarbor".
type Seed struct {
	// Users are the accounts.
	Users []User `json:"users"`
	// Tokens are the access tokens.
	Tokens []Token `json:"tokens"`
	// Applications are the applications.
	Applications []Application `json:"applications"`
}

// Collaborator is a collaborator as the simulator holds it.
type Collaborator struct {
	// ID is the collaborator id.
	ID string
	// UserID is the user's id.
	UserID string
	// UserName is the user's name.
	UserName string
	// Email is the user's email.
	Email string
	// Role is collaborator or administrator.
	Role string
}

// Option configures a Server.
type Option func(*Server)

// WithBaseURL fixes the base of Location and url values; by default they
// are built from the request's Host, so they point back at the simulator.
func WithBaseURL(u string) Option {
	return func(s *Server) { s.baseURL = strings.TrimRight(u, "/") }
}

// Server is the simulator: an http.Handler, safe for concurrent use, with
// the embedded Kit for the request log and fault injection.
type Server struct {
	*simkit.Kit

	handler http.Handler
	baseURL string

	mu     sync.Mutex
	users  map[string]*User            // by lower-case email
	tokens map[string]map[string]bool  // token -> slugs
	apps   map[string]map[string]*item // slug -> id -> collaborator
	serial int
}

type item struct {
	id   string
	user *User
	role string
}

// New returns an empty simulator.
func New(opts ...Option) *Server {
	s := &Server{
		Kit:   &simkit.Kit{Redact: RedactToken},
		users: map[string]*User{}, tokens: map[string]map[string]bool{}, apps: map[string]map[string]*item{},
	}
	for _, o := range opts {
		o(s)
	}
	s.handler = s.Wrap(http.HandlerFunc(s.serve))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Seed adds the seed's users, applications, collaborators and tokens.
func (s *Server) Seed(seed Seed) error {
	for _, u := range seed.Users {
		if err := s.AddUser(u); err != nil {
			return err
		}
	}
	for _, a := range seed.Applications {
		if err := s.AddApplication(a.Slug); err != nil {
			return err
		}
		for _, c := range a.Collaborators {
			if _, err := s.addCollaborator(a.Slug, c.Email, c.Role, c.ID); err != nil {
				return err
			}
		}
	}
	for _, t := range seed.Tokens {
		if err := s.AddToken(t.Token, t.Applications...); err != nil {
			return err
		}
	}
	return nil
}

// AddUser adds an account; its email must be new.
func (s *Server) AddUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(u.Email)
	if u.Email == "" || u.Name == "" {
		return fmt.Errorf("user needs a name and an email")
	}
	if _, ok := s.users[key]; ok {
		return fmt.Errorf("user %s exists", u.Email)
	}
	if u.ID == "" {
		s.serial++
		u.ID = s.newID("user", s.serial)
	}
	uc := u
	s.users[key] = &uc
	return nil
}

// AddApplication adds an application without collaborators.
func (s *Server) AddApplication(slug string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slug == "" {
		return fmt.Errorf("application needs a slug")
	}
	if _, ok := s.apps[slug]; ok {
		return fmt.Errorf("application %s exists", slug)
	}
	s.apps[slug] = map[string]*item{}
	return nil
}

// AddToken lets token manage the given applications.
func (s *Server) AddToken(token string, slugs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token == "" {
		return fmt.Errorf("empty token")
	}
	if s.tokens[token] == nil {
		s.tokens[token] = map[string]bool{}
	}
	for _, slug := range slugs {
		if _, ok := s.apps[slug]; !ok {
			return fmt.Errorf("token for unknown application %s", slug)
		}
		s.tokens[token][slug] = true
	}
	return nil
}

// AddCollaborator adds a collaborator out of band and returns its id.
func (s *Server) AddCollaborator(slug, email, role string) (string, error) {
	return s.addCollaborator(slug, email, role, "")
}

func (s *Server) addCollaborator(slug, email, role, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, problem := s.addLocked(slug, email, role, id)
	if problem != "" {
		return "", fmt.Errorf("%s", problem)
	}
	return id, nil
}

// SetRole changes a collaborator's role out of band.
func (s *Server) SetRole(slug, id, role string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.apps[slug][id]
	if !ok {
		return fmt.Errorf("no collaborator %s on %s", id, slug)
	}
	if !validRole(role) {
		return fmt.Errorf("invalid role %q", role)
	}
	it.role = role
	return nil
}

// RemoveCollaborator removes a collaborator out of band; it reports whether
// there was one.
func (s *Server) RemoveCollaborator(slug, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return simkit.DeleteNested(s.apps, slug, id)
}

// Collaborators lists an application's collaborators in the API's order.
func (s *Server) Collaborators(slug string) []Collaborator {
	s.mu.Lock()
	defer s.mu.Unlock()
	items := s.sorted(slug)
	out := make([]Collaborator, 0, len(items))
	for _, it := range items {
		out = append(out, Collaborator{ID: it.id, UserID: it.user.ID, UserName: it.user.Name, Email: it.user.Email, Role: it.role})
	}
	return out
}

// CollaboratorByEmail finds a collaborator by email.
func (s *Server) CollaboratorByEmail(slug, email string) (Collaborator, bool) {
	for _, c := range s.Collaborators(slug) {
		if strings.EqualFold(c.Email, email) {
			return c, true
		}
	}
	return Collaborator{}, false
}

func validRole(r string) bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

// newID makes an opaque id like the documentation's base64 ids; odd ones
// are forced to contain '/' and '+' so that escaping bugs show.
func (s *Server) newID(kind string, n int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", kind, n))
	id := base64.StdEncoding.EncodeToString(sum[:20])
	if n%2 == 1 {
		id = id[:3] + "/" + id[4:9] + "+" + id[10:]
	}
	return id
}

// addLocked adds a collaborator; the lock is held.
func (s *Server) addLocked(slug, email, role, id string) (string, string) {
	app, ok := s.apps[slug]
	if !ok {
		return "", "application not found"
	}
	u, ok := s.users[strings.ToLower(email)]
	if !ok {
		return "", fmt.Sprintf("No AppHarbor user has the email %q.", email)
	}
	if !validRole(role) {
		return "", fmt.Sprintf("role must be one of %s.", strings.Join(Roles, ", "))
	}
	for _, it := range app {
		if it.user == u {
			return "", fmt.Sprintf("%s is already a collaborator on %s.", email, slug)
		}
	}
	if id == "" {
		for {
			s.serial++
			id = s.newID("collaborator/"+slug, s.serial)
			if _, taken := app[id]; !taken {
				break
			}
		}
	}
	app[id] = &item{id: id, user: u, role: role}
	return id, ""
}

func (s *Server) sorted(slug string) []*item {
	list := make([]*item, 0, len(s.apps[slug]))
	for _, it := range s.apps[slug] {
		list = append(list, it)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].user.Name != list[j].user.Name {
			return list[i].user.Name < list[j].user.Name
		}
		return list[i].id < list[j].id
	})
	return list
}

func fail(w http.ResponseWriter, status int, msg string) {
	simkit.WriteJSON(w, status, map[string]any{"error": map[string]string{"message": msg}})
}

func (s *Server) base(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) itemURL(r *http.Request, slug, id string) string {
	return s.base(r) + "/applications/" + httpapi.EscapeSegment(slug) + "/collaborators/" + httpapi.EscapeSegment(id)
}

func token(r *http.Request) string {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return r.URL.Query().Get("access_token")
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	tok := token(r)
	s.mu.Lock()
	access, known := s.tokens[tok]
	s.mu.Unlock()
	if tok == "" || !known {
		fail(w, http.StatusUnauthorized, "Unauthorized: a valid access token is required.")
		return
	}
	if !simkit.IsJSON(r.Header.Get("Accept")) {
		fail(w, http.StatusNotAcceptable, "Send Accept: application/json.")
		return
	}
	segs, err := httpapi.SplitEscapedPath(r.URL.EscapedPath())
	if err != nil || len(segs) < 3 || len(segs) > 4 || segs[0] != "applications" || segs[2] != "collaborators" {
		fail(w, http.StatusNotFound, "Not found.")
		return
	}
	slug := segs[1]
	s.mu.Lock()
	_, appExists := s.apps[slug]
	s.mu.Unlock()
	if !appExists {
		fail(w, http.StatusNotFound, "Application not found.")
		return
	}
	if !access[slug] {
		fail(w, http.StatusForbidden, "Forbidden")
		return
	}
	if len(segs) == 3 {
		switch r.Method {
		case http.MethodGet:
			s.list(w, r, slug)
		case http.MethodPost:
			s.create(w, r, slug)
		default:
			w.Header().Set("Allow", "GET, POST")
			fail(w, http.StatusMethodNotAllowed, "Method not allowed.")
		}
		return
	}
	id := segs[3]
	s.mu.Lock()
	_, idExists := s.apps[slug][id]
	s.mu.Unlock()
	if !idExists {
		fail(w, http.StatusNotFound, "Collaborator not found.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.get(w, r, slug, id)
	case http.MethodPut:
		s.update(w, r, slug, id)
	case http.MethodDelete:
		s.mu.Lock()
		delete(s.apps[slug], id)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		fail(w, http.StatusMethodNotAllowed, "Method not allowed.")
	}
}

type userJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, slug string) {
	type itemJSON struct {
		User userJSON `json:"user"`
		Role string   `json:"role"`
		URL  string   `json:"url"`
	}
	s.mu.Lock()
	items := s.sorted(slug)
	out := make([]itemJSON, 0, len(items))
	for _, it := range items {
		out = append(out, itemJSON{User: userJSON{it.user.ID, it.user.Name}, Role: it.role, URL: s.itemURL(r, slug, it.id)})
	}
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) get(w http.ResponseWriter, _ *http.Request, slug, id string) {
	s.mu.Lock()
	it, ok := s.apps[slug][id]
	var out map[string]any
	if ok {
		out = map[string]any{"user": userJSON{it.user.ID, it.user.Name}, "role": it.role}
	}
	s.mu.Unlock()
	if !ok {
		fail(w, http.StatusNotFound, "Collaborator not found.")
		return
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

// decodeBody reads a JSON body strictly; it answers the failure itself.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if !simkit.IsJSON(r.Header.Get("Content-Type")) {
		fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json.")
		return false
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
		fail(w, http.StatusBadRequest, "Could not read the body.")
		return false
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		fail(w, http.StatusBadRequest, "Invalid JSON body.")
		return false
	}
	return true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, slug string) {
	var req struct {
		Email *string `json:"collaboratorEmail"`
		Role  *string `json:"role"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Email == nil || *req.Email == "" {
		fail(w, http.StatusBadRequest, "collaboratorEmail is required.")
		return
	}
	if req.Role == nil {
		fail(w, http.StatusBadRequest, "role is required.")
		return
	}
	s.mu.Lock()
	id, problem := s.addLocked(slug, *req.Email, *req.Role, "")
	s.mu.Unlock()
	if problem != "" {
		fail(w, http.StatusBadRequest, problem)
		return
	}
	w.Header().Set("Location", s.itemURL(r, slug, id))
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, slug, id string) {
	var req struct {
		Role *string `json:"role"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Role == nil || !validRole(*req.Role) {
		fail(w, http.StatusBadRequest, "role must be one of "+strings.Join(Roles, ", ")+".")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.apps[slug][id]
	if !ok {
		fail(w, http.StatusNotFound, "Collaborator not found.")
		return
	}
	it.role = *req.Role
	w.WriteHeader(http.StatusOK)
}

// RedactToken returns text with the access_token query value hidden; the
// binary uses it when printing the request log.
func RedactToken(text string) string {
	q, err := url.ParseQuery(text)
	if err != nil || !q.Has("access_token") {
		return text
	}
	q.Set("access_token", "<redacted>")
	return q.Encode()
}
