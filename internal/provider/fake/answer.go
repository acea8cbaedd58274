package fake

import (
	"net/http"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Op names a request a Client sends to the provider.
type Op string

// The requests. A client method may send more than one: a delete whose
// answer says "already gone" is followed by an OpConfirm read where the
// provider has a read.
const (
	// OpObserve reads a collaborator (QuantConnect: the project's list).
	OpObserve Op = "Observe"
	// OpCreate adds a collaborator.
	OpCreate Op = "Create"
	// OpUpdate changes a collaborator's access.
	OpUpdate Op = "Update"
	// OpDelete removes a Collaborator's member (Client.Delete).
	OpDelete Op = "Delete"
	// OpList reads a whole project's or application's list (ListMembers).
	OpList Op = "List"
	// OpRemove removes a listed member (RemoveMember).
	OpRemove Op = "Remove"
	// OpAuthenticate checks the credentials (QuantConnect).
	OpAuthenticate Op = "Authenticate"
	// OpConfirm is the fresh read a client makes after a refusal or an
	// "already gone" answer, to learn whether the member is really there.
	OpConfirm Op = "Confirm"
)

// Kind is what the provider answers to one request.
type Kind int

const (
	// OK: the provider handles the request as it normally would, and the
	// client hears its natural answer: success, or the provider's own
	// "already gone" or refusal when the truth calls for it (deleting a
	// member who is not there, inviting an AppHarbor email twice).
	OK Kind = iota
	// Gone is the provider's documented "not there" answer, given without
	// changing anything (so it may be a lie): QuantConnect's "not a
	// collaborator" refusal, AppHarbor's 404 for the id, WebTranslateIt's
	// 404 "Couldn't find this collaborator on that organization.". To a
	// read (Observe, Confirm) it is an answer that omits the member; to a
	// List, the documented answer that the project or application is not
	// there. Clients confirm it by a read where the provider has one.
	Gone
	// NotFoundPage is a 404 that none of the documentation describes: a
	// wrong path, a proxy's error page. It changes nothing and is never
	// ClassNotFound: ClassUnavailable, or ClassUnauthorized for
	// WebTranslateIt, whose token is the path (as its real client says).
	NotFoundPage
	// Redirect is a 3xx (Status, default 302). Clients never follow one:
	// ClassRejected, a person must fix the base URL. Nothing changes.
	Redirect
	// RateLimited is a 429 with RetryAfter: ClassRateLimited. Nothing
	// changes.
	RateLimited
	// ServerError is a 5xx (Status, default 500): ClassUnavailable.
	// Nothing changes.
	ServerError
	// Lost: the provider acts on the request as under OK, but the answer
	// never arrives (a connection reset on the way back): the caller gets
	// a transport error, ClassUnavailable, although the change was made.
	Lost
	// Unreachable: the request never arrives (connection refused, a
	// timeout before sending): ClassUnavailable, nothing changes.
	Unreachable
	// Unauthorized is a 401 (or Status 403): ClassUnauthorized. Nothing
	// changes.
	Unauthorized
	// Rejected is a 400 (or QuantConnect's success:false refusal):
	// ClassRejected. Nothing changes.
	Rejected
)

// String names the kind for logs and test failures.
func (k Kind) String() string {
	names := [...]string{"OK", "Gone", "NotFoundPage", "Redirect", "RateLimited", "ServerError",
		"Lost", "Unreachable", "Unauthorized", "Rejected"}
	if k >= 0 && int(k) < len(names) {
		return names[k]
	}
	return "Kind(?)"
}

// Answer is the provider's answer to one request. The zero Answer is OK.
type Answer struct {
	// Kind is what happens.
	Kind Kind
	// Status overrides the HTTP status the Kind implies (403 for
	// Unauthorized, 503 for ServerError, 301 for Redirect).
	Status int
	// RetryAfter is the 429's Retry-After.
	RetryAfter time.Duration
	// Message is the provider's error text; empty gives a default.
	Message string
}

// Call is a request as the provider receives it: what an injector decides
// on.
type Call struct {
	// Op is the request.
	Op Op
	// Target is the project or application (Organization for
	// WebTranslateIt).
	Target provider.Target
	// Member is the member the request names, by the provider's key
	// (publicId, collaborator id, email); empty for a List or an
	// Authenticate. An AppHarbor create names none; its Record carries the
	// id the provider gave.
	Member string
	// Email is the person's email where the request carries it (an
	// AppHarbor create, a WebTranslateIt delete).
	Email string
	// Credentials is the fingerprint (provider.Credentials.Fingerprint) of
	// the credentials the client was built with, so that an injector can
	// answer one ProviderConfig's requests differently.
	Credentials string
}

// Record is one request in the log, with what the client heard.
type Record struct {
	Call
	// Answer is what the client heard: the injected answer, or, for OK,
	// the provider's natural one (OK, Gone or Rejected).
	Answer Answer
	// Changed says whether the request changed the provider's truth (it
	// can under OK and Lost only).
	Changed bool
}

// Inject sets the function that chooses the answer to every request not
// answered by a queue (see Next); nil restores the default, OK. It is
// called without the Provider's lock held, so it may call Has or Members.
func (p *Provider) Inject(decide func(Call) Answer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inject = decide
}

// Next queues answers for the next requests of op, in order, ahead of the
// injector: a test that needs "the next delete's answer is lost" says so
// without writing a function.
func (p *Provider) Next(op Op, answers ...Answer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue[op] = append(p.queue[op], answers...)
}

// Calls returns a copy of the log of requests, oldest first.
func (p *Provider) Calls() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Record(nil), p.log...)
}

// ResetCalls empties the log (and so the counts), and drops queued
// answers; the truth and the injector stay.
func (p *Provider) ResetCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = nil
	p.queue = map[Op][]Answer{}
}

// Count is how many requests of op were sent since the last ResetCalls.
func (p *Provider) Count(op Op) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.log {
		if r.Op == op {
			n++
		}
	}
	return n
}

// Writes is how many write requests (create, update, delete, remove) were
// sent since the last ResetCalls, whatever their answer: what a test of
// "a steady state costs no writes" counts.
func (p *Provider) Writes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.log {
		switch r.Op {
		case OpCreate, OpUpdate, OpDelete, OpRemove:
			n++
		}
	}
	return n
}

// decide picks the answer for call: the op's queue first, then the
// injector, else OK.
func (p *Provider) decide(call Call) Answer {
	p.mu.Lock()
	if q := p.queue[call.Op]; len(q) > 0 {
		p.queue[call.Op] = q[1:]
		p.mu.Unlock()
		return q[0]
	}
	decide := p.inject
	p.mu.Unlock()
	if decide == nil {
		return Answer{}
	}
	return decide(call)
}

// exchange sends one request: it picks the answer, lets the provider act
// (act runs under the lock and returns the natural answer and what the
// answer carries) when the answer is OK or Lost, logs the request and
// returns what the client hears. act may fill in call (an AppHarbor
// create's new id).
func exchange[T any](p *Provider, call Call, act func(*Call) (Answer, T)) (Answer, T) {
	injected := p.decide(call)
	p.mu.Lock()
	defer p.mu.Unlock()
	heard := injected
	var out T
	before := p.version
	if injected.Kind == OK || injected.Kind == Lost {
		var natural Answer
		natural, out = act(&call)
		if injected.Kind == OK {
			heard = natural
		}
	}
	p.log = append(p.log, Record{Call: call, Answer: heard, Changed: p.version != before})
	return heard, out
}

// errorFor is the error a real client returns for a failed answer a.
// Gone is the caller's to interpret (its meaning differs by provider and
// request); here it falls back to NotFoundPage, never ClassNotFound.
func (p *Provider) errorFor(op string, a Answer) *provider.Error {
	e := &provider.Error{Provider: p.name, Op: op, StatusCode: a.Status, Message: a.Message}
	def := func(status int, class provider.Class, msg string) {
		if e.StatusCode == 0 {
			e.StatusCode = status
		}
		e.Class = class
		if e.Message == "" {
			e.Message = msg
		}
	}
	switch a.Kind {
	case Gone, NotFoundPage:
		class := provider.ClassUnavailable
		if p.name == collabv1alpha1.ProviderWebTranslateIt {
			class = provider.ClassUnauthorized
		}
		def(http.StatusNotFound, class, "not found (none of the provider's documented answers: a wrong path or a proxy's page)")
	case Redirect:
		def(http.StatusFound, provider.ClassRejected, "redirect not followed: provider clients never follow redirects")
	case RateLimited:
		def(http.StatusTooManyRequests, provider.ClassRateLimited, "too many requests")
		e.RetryAfter = a.RetryAfter
	case ServerError:
		def(http.StatusInternalServerError, provider.ClassUnavailable, "internal server error")
	case Lost:
		def(0, provider.ClassUnavailable, "connection reset before the answer arrived; the provider may have acted")
		e.StatusCode = 0
	case Unreachable:
		def(0, provider.ClassUnavailable, "connection refused")
		e.StatusCode = 0
	case Unauthorized:
		def(http.StatusUnauthorized, provider.ClassUnauthorized, "credentials refused")
	case Rejected:
		def(http.StatusBadRequest, provider.ClassRejected, "the request was refused")
	default:
		def(0, provider.ClassUnknown, "unexpected answer "+a.Kind.String())
	}
	return e
}

// refusal is a provider's natural refusal of a request (an existing
// collaborator, the owner), as act returns it.
func refusal(msg string) Answer { return Answer{Kind: Rejected, Message: msg} }

// gone is a provider's natural "not there", as act returns it.
func gone(msg string) Answer { return Answer{Kind: Gone, Message: msg} }
