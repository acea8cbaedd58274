package collaborator

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// The watch skips the event of the manager's own external-id write (the
// pass that wrote it already acted) and passes every other annotation
// change: adoption by hand, pause, reconcile requests.
func TestAnnotationsChangedSkipsOwnIDWrite(t *testing.T) {
	const uid = types.UID("u-1")
	id := collabv1alpha1.ExternalIDAnnotation
	tests := map[string]struct {
		written  string // the id this manager is writing; "" for none
		old, new map[string]string
		want     bool
	}{
		"own id write":                     {written: "42", old: nil, new: map[string]string{id: "42"}, want: false},
		"own id among other annotations":   {written: "42", old: map[string]string{"team": "a"}, new: map[string]string{"team": "a", id: "42"}, want: false},
		"someone else's id":                {old: nil, new: map[string]string{id: "42"}, want: true},
		"an id other than the one written": {written: "42", old: nil, new: map[string]string{id: "7"}, want: true},
		"own id and a pause together": {written: "42", old: nil,
			new: map[string]string{id: "42", collabv1alpha1.PausedAnnotation: "true"}, want: true},
		"pause": {old: map[string]string{id: "42"},
			new: map[string]string{id: "42", collabv1alpha1.PausedAnnotation: "true"}, want: true},
		"no annotation change": {old: map[string]string{id: "42"}, new: map[string]string{id: "42"}, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := &Reconciler{}
			if tc.written != "" {
				r.idsWritten.Store(uid, tc.written)
			}
			obj := func(a map[string]string) *collabv1alpha1.Collaborator {
				return &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{UID: uid, Annotations: a}}
			}
			got := r.annotationsChanged().Update(event.UpdateEvent{ObjectOld: obj(tc.old), ObjectNew: obj(tc.new)})
			if got != tc.want {
				t.Errorf("passes = %t, want %t", got, tc.want)
			}
		})
	}
}
