package events

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/collab-dev/collaborator-operator/test/testenv"
)

var k8s client.Client

func TestMain(m *testing.M) {
	env, cfg, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "the events tests need a real API server:", err)
		os.Exit(1)
	}
	k8s, err = client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	code := 1
	if err == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, err)
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

// started returns a running Recorder and an object in a fresh namespace
// for its Events to be about.
func started(t *testing.T) (*Recorder, *corev1.ConfigMap) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "events-"}}
	if err := k8s.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "mia"}}
	if err := k8s.Create(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	r := NewRecorder(k8s, testenv.Scheme(), "collaborator-operator")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r, obj
}

// summary is what a test compares of an Event.
type summary struct {
	Type, Reason, Action, Note, Controller, Regarding string
	Count                                             int32
}

// eventsOf waits until the namespace holds want, and fails with what it
// holds otherwise.
func eventsOf(t *testing.T, ns string, want []summary) {
	t.Helper()
	var got []summary
	deadline := time.Now().Add(10 * time.Second)
	for {
		list := &eventsv1.EventList{}
		if err := k8s.List(t.Context(), list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, e := range list.Items {
			s := summary{Type: e.Type, Reason: e.Reason, Action: e.Action, Note: e.Note,
				Controller: e.ReportingController, Regarding: e.Regarding.Kind + "/" + e.Regarding.Name, Count: 1}
			if e.Series != nil {
				s.Count = e.Series.Count
			}
			got = append(got, s)
		}
		diff := cmp.Diff(want, got)
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Events (-want +got):\n%s", diff)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRepeatsBecomeASeries(t *testing.T) {
	r, obj := started(t)
	r.Eventf(obj, nil, corev1.EventTypeWarning, "Failed", "Reconcile", "QuantConnect answered %d", 500)
	eventsOf(t, obj.Namespace, []summary{
		{Type: "Warning", Reason: "Failed", Action: "Reconcile", Note: "QuantConnect answered 500",
			Controller: "collaborator-operator", Regarding: "ConfigMap/mia", Count: 1},
	})
	r.Eventf(obj, nil, corev1.EventTypeWarning, "Failed", "Reconcile", "QuantConnect answered %d", 500)
	r.Eventf(obj, nil, corev1.EventTypeWarning, "Failed", "Reconcile", "QuantConnect answered %d", 500)
	eventsOf(t, obj.Namespace, []summary{
		{Type: "Warning", Reason: "Failed", Action: "Reconcile", Note: "QuantConnect answered 500",
			Controller: "collaborator-operator", Regarding: "ConfigMap/mia", Count: 3},
	})
}

func TestDifferentNotesAreDifferentEvents(t *testing.T) {
	r, obj := started(t)
	r.Eventf(obj, nil, corev1.EventTypeNormal, "Created", "Create", "Created at %s", "QuantConnect")
	eventsOf(t, obj.Namespace, []summary{
		{Type: "Normal", Reason: "Created", Action: "Create", Note: "Created at QuantConnect",
			Controller: "collaborator-operator", Regarding: "ConfigMap/mia", Count: 1},
	})
	r.Eventf(obj, nil, corev1.EventTypeNormal, "Created", "Create", "Created at %s", "AppHarbor")
	eventsOf(t, obj.Namespace, []summary{
		{Type: "Normal", Reason: "Created", Action: "Create", Note: "Created at QuantConnect",
			Controller: "collaborator-operator", Regarding: "ConfigMap/mia", Count: 1},
		{Type: "Normal", Reason: "Created", Action: "Create", Note: "Created at AppHarbor",
			Controller: "collaborator-operator", Regarding: "ConfigMap/mia", Count: 1},
	})
}

// A repeat of an Event somebody deleted is written anew, not lost.
func TestRepeatOfADeletedEventIsWrittenAgain(t *testing.T) {
	r, obj := started(t)
	want := []summary{{Type: "Warning", Reason: "Failed", Action: "Delete", Note: "gone",
		Controller: "collaborator-operator", Regarding: "ConfigMap/mia", Count: 1}}
	r.Eventf(obj, nil, corev1.EventTypeWarning, "Failed", "Delete", "gone")
	eventsOf(t, obj.Namespace, want)
	if err := k8s.DeleteAllOf(t.Context(), &eventsv1.Event{}, client.InNamespace(obj.Namespace)); err != nil {
		t.Fatal(err)
	}
	eventsOf(t, obj.Namespace, nil)
	r.Eventf(obj, nil, corev1.EventTypeWarning, "Failed", "Delete", "gone")
	eventsOf(t, obj.Namespace, want)
}

// Eventf never blocks a reconciler: with nobody writing, the Events past
// the queue's size are dropped.
func TestFullQueueDrops(t *testing.T) {
	r := NewRecorder(k8s, testenv.Scheme(), "collaborator-operator")
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "mia", UID: "u"}}
	for i := range 2 * queued {
		r.Eventf(obj, nil, corev1.EventTypeNormal, "Created", "Create", "event %d", i)
	}
	if got := queuedEvents(r); got != queued {
		t.Errorf("queued %d Events; want %d", got, queued)
	}
}

func TestEventfRefusesObjectsWithoutAKind(t *testing.T) {
	r := NewRecorder(k8s, runtime.NewScheme(), "collaborator-operator")
	r.Eventf(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "mia"}}, nil, corev1.EventTypeNormal, "Created", "Create", "x")
	if got := queuedEvents(r); got != 0 {
		t.Errorf("queued %d Events about an object the scheme does not know; want 0", got)
	}
}

func TestTruncate(t *testing.T) {
	tests := map[string]struct {
		in   string
		n    int
		want string
	}{
		"short":             {in: "abc", n: 5, want: "abc"},
		"exact":             {in: "abcde", n: 5, want: "abcde"},
		"cut":               {in: "abcdef", n: 5, want: "abcde"},
		"keeps whole runes": {in: "ab€", n: 4, want: "ab"},
		"long note":         {in: strings.Repeat("é", 600), n: maxNote, want: strings.Repeat("é", 512)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, truncate(tc.in, tc.n)); diff != "" {
				t.Errorf("truncate (-want +got):\n%s", diff)
			}
		})
	}
}

func queuedEvents(r *Recorder) int {
	n := 0
	for _, q := range r.queues {
		n += len(q)
	}
	return n
}
