// Package sim is a strict, in-memory simulator of QuantConnect's project
// collaboration API, for tests (through httptest) and for the demo binary.
//
// Strict means it refuses what the real API refuses: a wrong signature or a
// Timestamp outside ±5 minutes of its clock (401 with www_authenticate), a
// method other than POST (405), a body without Content-Type
// application/json (415), unknown or missing fields, a wrong JSON type, an
// unknown project or user, a project the caller does not own, and a create
// of an existing collaborator (all 200 {"success":false,"errors":[...]}).
//
// The API user id in the Authorization header is the user's numeric uid as
// a decimal string, as in QuantConnect's own examples (USER_ID = 0); the
// collaborator endpoints name users by publicId. It serves under /api/v2,
// so a client's base URL is the server URL plus "/api/v2". The wire model is
// written from the documentation, independently of the client package, so
// that the two cannot share a misreading.
package sim

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// PathPrefix is where the API is served; a client's base URL ends with it.
const PathPrefix = "/api/v2"

// keySuccess is the envelope field every QuantConnect response carries.
const keySuccess = "success"

// DefaultWindow is how far a request's Timestamp may be from the
// simulator's clock.
const DefaultWindow = 5 * time.Minute

// User is a QuantConnect account.
type User struct {
	// UID is the numeric user id; its decimal form is the API user id.
	UID int64 `json:"uid"`
	// PublicID is the id in profile URLs and collaborator requests.
	PublicID string `json:"publicId"`
	// Name is the display name.
	Name string `json:"name,omitempty"`
	// Email is the registered email.
	Email string `json:"email,omitempty"`
	// Bio is the biography.
	Bio string `json:"bio,omitempty"`
	// ProfileImage is the picture URL.
	ProfileImage string `json:"profileImage,omitempty"`
	// APIToken, when set, lets the user call the API.
	APIToken string `json:"apiToken,omitempty"`
}

// Member is a collaborator of a project other than its owner.
type Member struct {
	// UserID is the member's publicId.
	UserID string `json:"userId"`
	// LiveControl grants live control.
	LiveControl bool `json:"liveControl"`
	// Write grants write permission.
	Write bool `json:"write"`
}

// Project is a project with its owner and collaborators.
type Project struct {
	// ID is the project id.
	ID int64 `json:"id"`
	// Owner is the owner's publicId.
	Owner string `json:"owner"`
	// Collaborators are the members besides the owner.
	Collaborators []Member `json:"collaborators,omitempty"`
}

// Seed is the initial state; the simulator binary reads it from its seed
// file under "quantConnect".
type Seed struct {
	// Users are the accounts.
	Users []User `json:"users"`
	// Projects are the projects, each owned by one of Users.
	Projects []Project `json:"projects"`
}

// Collaborator is the API's collaborator model as the simulator answers it.
type Collaborator struct {
	// UID is the numeric user id.
	UID int64 `json:"uid"`
	// LiveControl says whether the user controls live algorithms.
	LiveControl bool `json:"liveControl"`
	// Permission is read or write.
	Permission string `json:"permission"`
	// PublicID is the user id used in requests.
	PublicID string `json:"publicId"`
	// ProfileImage is the picture URL.
	ProfileImage string `json:"profileImage"`
	// Email is the registered email.
	Email string `json:"email"`
	// Name is the display name.
	Name string `json:"name"`
	// Bio is the biography.
	Bio string `json:"bio"`
	// Owner marks the project's owner.
	Owner bool `json:"owner"`
}

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock that Timestamps are checked against.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithWindow sets how far a Timestamp may be from the clock.
func WithWindow(d time.Duration) Option { return func(s *Server) { s.window = d } }

// Server is the simulator. It is an http.Handler and safe for concurrent
// use; the embedded Kit gives the request log and fault injection.
type Server struct {
	*simkit.Kit

	handler http.Handler

	mu       sync.Mutex
	now      func() time.Time
	window   time.Duration
	users    map[string]*User // by publicId
	byAPIID  map[string]*User // by decimal uid
	projects map[int64]*project
}

type project struct {
	id      int64
	owner   string
	members []Member
}

// New returns an empty simulator.
func New(opts ...Option) *Server {
	s := &Server{
		Kit: &simkit.Kit{}, now: time.Now, window: DefaultWindow,
		users: map[string]*User{}, byAPIID: map[string]*User{}, projects: map[int64]*project{},
	}
	for _, o := range opts {
		o(s)
	}
	s.handler = s.Wrap(http.HandlerFunc(s.serve))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// SetClock replaces the clock at run time.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Seed adds the seed's users and projects.
func (s *Server) Seed(seed Seed) error {
	for _, u := range seed.Users {
		if err := s.AddUser(u); err != nil {
			return err
		}
	}
	for _, p := range seed.Projects {
		if err := s.AddProject(p.ID, p.Owner); err != nil {
			return err
		}
		for _, m := range p.Collaborators {
			if err := s.SetCollaborator(p.ID, m.UserID, m.LiveControl, m.Write); err != nil {
				return err
			}
		}
	}
	return nil
}

// AddUser adds an account; uid and publicId must be new.
func (s *Server) AddUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.PublicID == "" || u.UID <= 0 {
		return fmt.Errorf("user needs a publicId and a positive uid")
	}
	apiID := strconv.FormatInt(u.UID, 10)
	if _, ok := s.users[u.PublicID]; ok {
		return fmt.Errorf("user %q exists", u.PublicID)
	}
	if _, ok := s.byAPIID[apiID]; ok {
		return fmt.Errorf("uid %d exists", u.UID)
	}
	uc := u
	s.users[u.PublicID] = &uc
	s.byAPIID[apiID] = &uc
	return nil
}

// AddProject adds a project owned by an existing user.
func (s *Server) AddProject(id int64, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id <= 0 {
		return fmt.Errorf("project id must be positive")
	}
	if _, ok := s.users[owner]; !ok {
		return fmt.Errorf("project %d: owner %q is not a user", id, owner)
	}
	if _, ok := s.projects[id]; ok {
		return fmt.Errorf("project %d exists", id)
	}
	s.projects[id] = &project{id: id, owner: owner}
	return nil
}

// SetCollaborator adds or changes a collaborator out of band, as a person
// using the QuantConnect web site would.
func (s *Server) SetCollaborator(projectID int64, userID string, liveControl, write bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[projectID]
	if !ok {
		return fmt.Errorf("project %d does not exist", projectID)
	}
	if _, ok := s.users[userID]; !ok {
		return fmt.Errorf("user %q does not exist", userID)
	}
	if userID == p.owner {
		return fmt.Errorf("user %q owns project %d", userID, projectID)
	}
	for i := range p.members {
		if p.members[i].UserID == userID {
			p.members[i].LiveControl, p.members[i].Write = liveControl, write
			return nil
		}
	}
	p.members = append(p.members, Member{UserID: userID, LiveControl: liveControl, Write: write})
	return nil
}

// RemoveCollaborator removes a collaborator out of band; it reports whether
// there was one.
func (s *Server) RemoveCollaborator(projectID int64, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[projectID]
	if !ok {
		return false
	}
	return p.remove(userID)
}

// Collaborators returns a project's list as the API would answer it.
func (s *Server) Collaborators(projectID int64) ([]Collaborator, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[projectID]
	if !ok {
		return nil, false
	}
	return s.list(p), true
}

// Member returns one member's settings, not the owner's.
func (s *Server) Member(projectID int64, userID string) (Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.projects[projectID]; ok {
		for _, m := range p.members {
			if m.UserID == userID {
				return m, true
			}
		}
	}
	return Member{}, false
}

func (p *project) remove(userID string) bool {
	for i := range p.members {
		if p.members[i].UserID == userID {
			p.members = append(p.members[:i], p.members[i+1:]...)
			return true
		}
	}
	return false
}

func (s *Server) list(p *project) []Collaborator {
	out := make([]Collaborator, 0, 1+len(p.members))
	out = append(out, s.model(s.users[p.owner], true, true, true))
	for _, m := range p.members {
		out = append(out, s.model(s.users[m.UserID], m.LiveControl, m.Write, false))
	}
	return out
}

func (s *Server) model(u *User, live, write, owner bool) Collaborator {
	perm := "read"
	if write {
		perm = "write"
	}
	return Collaborator{
		UID: u.UID, LiveControl: live, Permission: perm, PublicID: u.PublicID,
		ProfileImage: u.ProfileImage, Email: u.Email, Name: u.Name, Bio: u.Bio, Owner: owner,
	}
}

func fail(w http.ResponseWriter, status int, msgs ...string) {
	simkit.WriteJSON(w, status, map[string]any{keySuccess: false, "errors": msgs})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(w, http.StatusMethodNotAllowed, "Every API call is a POST.")
		return
	}
	user, problem := s.authenticate(r)
	if problem != "" {
		w.Header().Set("www_authenticate", `Basic realm="QuantConnect API"`)
		w.Header().Set("WWW-Authenticate", `Basic realm="QuantConnect API"`)
		fail(w, http.StatusUnauthorized, problem)
		return
	}
	path := r.URL.EscapedPath()
	if !strings.HasPrefix(path, PathPrefix+"/") {
		fail(w, http.StatusNotFound, "No API endpoint at "+path)
		return
	}
	endpoint := strings.TrimPrefix(path, PathPrefix)
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fail(w, http.StatusBadRequest, "Could not read the request body.")
		return
	}
	if len(body) > 0 && !simkit.IsJSON(r.Header.Get("Content-Type")) {
		fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json.")
		return
	}
	switch endpoint {
	case "/authenticate":
		simkit.WriteJSON(w, http.StatusOK, map[string]any{keySuccess: true})
	case "/projects/collaboration/read":
		s.read(w, user, body)
	case "/projects/collaboration/create":
		s.create(w, user, body)
	case "/projects/collaboration/update":
		s.update(w, user, body)
	case "/projects/collaboration/delete":
		s.delete(w, user, body)
	default:
		fail(w, http.StatusNotFound, "No API endpoint at "+path)
	}
}

// authenticate returns the caller or why it is refused.
func (s *Server) authenticate(r *http.Request) (*User, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tsHeader := r.Header.Get("Timestamp")
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return nil, "Timestamp header missing or not unix seconds."
	}
	skew := s.now().Sub(time.Unix(ts, 0))
	if skew > s.window || skew < -s.window {
		return nil, "Timestamp is too old or in the future for the hash."
	}
	scheme, encoded, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return nil, "Authorization header missing or not Basic."
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return nil, "Authorization is not valid base64."
	}
	apiID, hash, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, "Authorization is not userId:hash."
	}
	u, ok := s.byAPIID[apiID]
	if !ok || u.APIToken == "" {
		return nil, "Key is missing or invalid."
	}
	sum := sha256.Sum256([]byte(u.APIToken + ":" + tsHeader))
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(hash)) != 1 {
		return nil, "Hash doesn't match."
	}
	return u, ""
}

// decode fills the struct strictly: unknown fields, wrong types and
// trailing data are refused, as a typed API model would.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("request body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid request: %w", err)
	}
	if dec.More() {
		return errors.New("invalid request: trailing data")
	}
	return nil
}

// owned finds a project the caller owns, or says why not; the lock is held.
func (s *Server) owned(user *User, id *int64) (*project, string) {
	if id == nil {
		return nil, "projectId is required."
	}
	p, ok := s.projects[*id]
	if !ok {
		return nil, fmt.Sprintf("Project %d was not found.", *id)
	}
	if p.owner != user.PublicID {
		return nil, fmt.Sprintf("You do not have permission to manage the collaborators of project %d.", *id)
	}
	return p, ""
}

func (s *Server) ok(w http.ResponseWriter, p *project) {
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"collaborators": s.list(p), keySuccess: true})
}

// withOwned runs the steps every collaboration call shares, in the API's
// order, answering a failure as QuantConnect does (200, success false): body
// is decoded strictly into req; check, run on the decoded req, returns the
// projectId and what is wrong with the rest of the request, if anything;
// then, with the lock held, the caller must own that project, which is
// passed to do.
func (s *Server) withOwned(w http.ResponseWriter, user *User, body []byte, req any,
	check func() (projectID *int64, problem string), do func(p *project)) {
	if err := decode(body, req); err != nil {
		fail(w, http.StatusOK, err.Error())
		return
	}
	projectID, problem := check()
	if problem != "" {
		fail(w, http.StatusOK, problem)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, problem := s.owned(user, projectID)
	if problem != "" {
		fail(w, http.StatusOK, problem)
		return
	}
	do(p)
}

// rightsGiven reports whether a create or update names the user and both
// rights.
func rightsGiven(userID *string, liveControl, write *bool) bool {
	return userID != nil && *userID != "" && liveControl != nil && write != nil
}

func (s *Server) read(w http.ResponseWriter, user *User, body []byte) {
	var req struct {
		ProjectID *int64 `json:"projectId"`
	}
	s.withOwned(w, user, body, &req, func() (*int64, string) { return req.ProjectID, "" }, func(p *project) {
		simkit.WriteJSON(w, http.StatusOK, map[string]any{
			"collaborators": s.list(p), "userLiveControl": true, "userPermissions": "write", keySuccess: true,
		})
	})
}

func (s *Server) create(w http.ResponseWriter, user *User, body []byte) {
	var req struct {
		ProjectID   *int64  `json:"projectId"`
		UserID      *string `json:"collaboratorUserId"`
		LiveControl *bool   `json:"collaborationLiveControl"`
		Write       *bool   `json:"collaborationWrite"`
	}
	check := func() (*int64, string) {
		if !rightsGiven(req.UserID, req.LiveControl, req.Write) {
			return nil, "projectId, collaboratorUserId, collaborationLiveControl and collaborationWrite are required."
		}
		return req.ProjectID, ""
	}
	s.withOwned(w, user, body, &req, check, func(p *project) {
		if _, ok := s.users[*req.UserID]; !ok {
			fail(w, http.StatusOK, fmt.Sprintf("User %s does not exist.", *req.UserID))
			return
		}
		if *req.UserID == p.owner {
			fail(w, http.StatusOK, "The project owner is already a collaborator.")
			return
		}
		for _, m := range p.members {
			if m.UserID == *req.UserID {
				fail(w, http.StatusOK, fmt.Sprintf("User %s is already a collaborator on this project.", *req.UserID))
				return
			}
		}
		p.members = append(p.members, Member{UserID: *req.UserID, LiveControl: *req.LiveControl, Write: *req.Write})
		s.ok(w, p)
	})
}

func (s *Server) update(w http.ResponseWriter, user *User, body []byte) {
	var req struct {
		ProjectID   *int64  `json:"projectId"`
		UserID      *string `json:"collaboratorUserId"`
		LiveControl *bool   `json:"liveControl"`
		Write       *bool   `json:"write"`
	}
	check := func() (*int64, string) {
		if !rightsGiven(req.UserID, req.LiveControl, req.Write) {
			return nil, "projectId, collaboratorUserId, liveControl and write are required."
		}
		return req.ProjectID, ""
	}
	s.withOwned(w, user, body, &req, check, func(p *project) {
		if *req.UserID == p.owner {
			fail(w, http.StatusOK, "The project owner's rights cannot be changed.")
			return
		}
		for i := range p.members {
			if p.members[i].UserID == *req.UserID {
				p.members[i].LiveControl, p.members[i].Write = *req.LiveControl, *req.Write
				s.ok(w, p)
				return
			}
		}
		fail(w, http.StatusOK, fmt.Sprintf("%s is not a collaborator of project %d.", *req.UserID, p.id))
	})
}

func (s *Server) delete(w http.ResponseWriter, user *User, body []byte) {
	var req struct {
		ProjectID *int64  `json:"projectId"`
		UserID    *string `json:"collaboratorUserId"`
		// The published OpenAPI model's name for the same field.
		CollaboratorID *string `json:"collaboratorId"`
	}
	var userID *string
	check := func() (*int64, string) {
		userID = req.UserID
		if userID == nil {
			userID = req.CollaboratorID
		} else if req.CollaboratorID != nil && *req.CollaboratorID != *userID {
			return nil, "collaboratorUserId and collaboratorId disagree."
		}
		if userID == nil || *userID == "" {
			return nil, "projectId and collaboratorUserId are required."
		}
		return req.ProjectID, ""
	}
	s.withOwned(w, user, body, &req, check, func(p *project) {
		if *userID == p.owner {
			fail(w, http.StatusOK, "The project owner cannot be removed.")
			return
		}
		if !p.remove(*userID) {
			fail(w, http.StatusOK, fmt.Sprintf("%s is not a collaborator of project %d.", *userID, p.id))
			return
		}
		s.ok(w, p)
	})
}

// ProjectIDs lists the projects, for the binary's ready message.
func (s *Server) ProjectIDs() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(s.projects))
	for id := range s.projects {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
