// Package events publishes the controllers' Kubernetes Events
// (events.k8s.io/v1) while holding only a small, bounded record of recent
// ones.
//
// client-go's events broadcaster, which the manager's GetEventRecorder
// returns, keeps a full copy of every Event it wrote for six to twelve
// minutes to merge repeats into series, and starts a goroutine per Event.
// A bulk onboarding of 10,000 Collaborators writes 10,000 Created Events:
// that cache was a quarter of the manager's live heap. This recorder
// merges repeats the same way (an identical Event within six minutes
// becomes a series, count and lastObservedTime patched) but remembers at
// most recentEvents of them, by a hash and the Event's name, and writes
// from a fixed number of workers.
package events

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientevents "k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/reference"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/lru"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

const (
	// queued is how many Events may wait to be written (a writers'th of
	// it for each writer). Past it new ones
	// are dropped, as client-go's broadcaster drops them: Events are
	// best-effort, and status holds the state.
	queued = 1000
	// writers is how many Events are written at once.
	writers = 4
	// seriesWindow is how long after an Event an identical one is counted
	// in its series rather than written anew: client-go's value.
	seriesWindow = 6 * time.Minute
	// recentEvents bounds the memory of what was written, for series.
	recentEvents = 4096
	// maxNote and maxField are the API server's limits on an Event's
	// note and on reportingInstance.
	maxNote  = 1024
	maxField = 128
)

// Recorder is a client-go events.EventRecorder that writes with a
// controller-runtime client. Create it with NewRecorder and run it with
// the manager (it is a manager.Runnable).
type Recorder struct {
	client     client.Client
	scheme     *runtime.Scheme
	controller string
	instance   string
	// queues holds the Events waiting for each writer. Identical Events
	// go to the same writer, in order, so a series counts up.
	queues [writers]chan queuedEvent
	now    func() time.Time

	// mu guards the series in recent, which the writers update.
	mu     sync.Mutex
	recent *lru.Cache // isomorphic key → *series
}

var _ clientevents.EventRecorder = &Recorder{}

// queuedEvent is an Event waiting to be written, with its isomorphic key.
type queuedEvent struct {
	ev  *eventsv1.Event
	key [sha256.Size]byte
}

// series is what is remembered of a written Event.
type series struct {
	namespace, name string
	count           int32
	last            time.Time
}

// NewRecorder returns a Recorder that reports Events as written by
// controller (reportingController), from this host (reportingInstance).
func NewRecorder(c client.Client, scheme *runtime.Scheme, controller string) *Recorder {
	host, _ := os.Hostname()
	r := &Recorder{
		client:     c,
		scheme:     scheme,
		controller: controller,
		instance:   truncate(controller+"-"+host, maxField),
		now:        time.Now,
		recent:     lru.New(recentEvents),
	}
	for i := range r.queues {
		r.queues[i] = make(chan queuedEvent, queued/writers)
	}
	return r
}

// Eventf queues an Event about regarding (and related, if not nil). It
// never blocks: when the queue is full the Event is dropped.
func (r *Recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	ref, err := reference.GetReference(r.scheme, regarding)
	if err != nil {
		logf.Log.WithName("events").Error(err, "Not recording an Event about an object without a reference", "reason", reason)
		return
	}
	now := r.now()
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%v.%x", ref.Name, now.UnixNano()),
			Namespace: ref.Namespace,
		},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: r.controller,
		ReportingInstance:   r.instance,
		Action:              action,
		Reason:              reason,
		Regarding:           *ref,
		Note:                truncate(fmt.Sprintf(note, args...), maxNote),
		Type:                eventtype,
	}
	if ev.Namespace == "" {
		ev.Namespace = metav1.NamespaceDefault
	}
	if related != nil {
		if rel, err := reference.GetReference(r.scheme, related); err == nil {
			ev.Related = rel
		}
	}
	key := isomorphicKey(ev)
	select {
	case r.queues[int(key[0])%writers] <- queuedEvent{ev: ev, key: key}:
	default:
		logf.Log.WithName("events").V(1).Info("Dropped an Event: too many waiting to be written",
			"reason", reason, "regarding", ref.Namespace+"/"+ref.Name)
	}
}

// Start writes queued Events until ctx ends.
func (r *Recorder) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, queue := range r.queues {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-queue:
					r.write(ctx, ev.ev, ev.key)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// NeedLeaderElection is false: only the leader reconciles, so only the
// leader has Events to write, and a replica that loses the lease should
// still write the ones it queued.
func (r *Recorder) NeedLeaderElection() bool { return false }

// write creates ev, or counts it in the series of an identical Event
// written within seriesWindow.
func (r *Recorder) write(ctx context.Context, ev *eventsv1.Event, key [sha256.Size]byte) {
	log := logf.FromContext(ctx).WithName("events")
	now := ev.EventTime.Time
	if s, ok := r.repeat(key, now); ok {
		err := r.patchSeries(ctx, s)
		if err == nil {
			return
		}
		if !apierrors.IsNotFound(err) {
			log.Error(err, "Could not count an Event in its series", "event", s.namespace+"/"+s.name)
			return
		}
		// The Event expired or was deleted: write it anew.
	}
	err := retry.OnError(retry.DefaultBackoff, transient, func() error {
		return r.client.Create(ctx, ev)
	})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		log.Error(err, "Could not write an Event", "reason", ev.Reason,
			"regarding", ev.Regarding.Namespace+"/"+ev.Regarding.Name)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recent.Add(key, &series{namespace: ev.Namespace, name: ev.Name, count: 1, last: now})
}

// repeat counts an Event observed at now in the series of an identical
// one written within seriesWindow, and returns that series as it is now.
func (r *Recorder) repeat(key [sha256.Size]byte, now time.Time) (series, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.recent.Get(key)
	if !ok {
		return series{}, false
	}
	s, _ := v.(*series)
	if s == nil || now.Sub(s.last) >= seriesWindow {
		return series{}, false
	}
	s.count++
	s.last = now
	return *s, true
}

// patchSeries records s's count and last observation on its Event.
func (r *Recorder) patchSeries(ctx context.Context, s series) error {
	patch, err := json.Marshal(map[string]any{"series": eventsv1.EventSeries{
		Count:            s.count,
		LastObservedTime: metav1.NewMicroTime(s.last),
	}})
	if err != nil {
		return fmt.Errorf("encoding the series patch: %w", err)
	}
	ev := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: s.name}}
	return retry.OnError(retry.DefaultBackoff, transient, func() error {
		return r.client.Patch(ctx, ev, client.RawPatch(types.MergePatchType, patch))
	})
}

// transient reports errors worth another try: not the API server's
// definite answers.
func transient(err error) bool {
	return !apierrors.IsAlreadyExists(err) && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) &&
		!apierrors.IsForbidden(err) && !apierrors.IsBadRequest(err) && !apierrors.IsUnauthorized(err)
}

// isomorphicKey identifies Events that client-go would merge into one
// series: the same regarding and related object, type, reason, action,
// note and reporter. It is a hash, so the memory of an Event is small
// whatever its note.
func isomorphicKey(ev *eventsv1.Event) [sha256.Size]byte {
	related := ""
	if ev.Related != nil {
		related = string(ev.Related.UID) + "/" + ev.Related.Kind + "/" + ev.Related.Namespace + "/" + ev.Related.Name
	}
	return sha256.Sum256([]byte(strings.Join([]string{
		string(ev.Regarding.UID), ev.Regarding.Kind, ev.Regarding.Namespace, ev.Regarding.Name, related,
		ev.Type, ev.Reason, ev.Action, ev.Note, ev.ReportingController, ev.ReportingInstance,
	}, "\x00")))
}

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
