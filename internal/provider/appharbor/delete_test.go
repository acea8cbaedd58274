package appharbor_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// AppHarbor answers 404 to a DELETE both for a collaborator that is gone
// and for a token that lost access to the application, so a 404 is success
// only when the application's list confirms the id is absent.
func TestDelete404IsGoneOnlyWhenTheListConfirms(t *testing.T) {
	deleteOnly := func(r *http.Request) bool { return r.Method == http.MethodDelete }
	tests := map[string]struct {
		// setup returns the application and id to delete.
		setup     func(e *env) (app, id string)
		wantErr   bool
		wantClass provider.Class
	}{
		"already gone": {
			setup: func(*env) (string, string) { return "my-app", "no-such-id" },
		},
		"404 while still listed": {
			setup: func(e *env) (string, string) {
				id, err := e.sim.AddCollaborator("my-app", "bob@example.com", "collaborator")
				if err != nil {
					t.Fatal(err)
				}
				e.sim.Inject(simkit.Fault{Status: http.StatusNotFound, Body: `{"error":{"message":"Not Found"}}`, Match: deleteOnly})
				return "my-app", id
			},
			wantErr: true, wantClass: provider.ClassUnavailable,
		},
		"token lost access: 404 to the delete and to the list": {
			setup: func(e *env) (string, string) {
				id, err := e.sim.AddCollaborator("my-app", "bob@example.com", "collaborator")
				if err != nil {
					t.Fatal(err)
				}
				e.sim.Inject(simkit.Fault{Times: 2, Status: http.StatusNotFound, Body: `{"error":{"message":"Not Found"}}`})
				return "my-app", id
			},
			wantErr: true, wantClass: provider.ClassRejected,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			app, id := tc.setup(e)
			err := e.client.Delete(context.Background(), collab(app, "bob@example.com", "", id))
			if (err != nil) != tc.wantErr {
				t.Fatalf("Delete error %v, want error %v", err, tc.wantErr)
			}
			if err != nil && provider.ClassOf(err) != tc.wantClass {
				t.Errorf("class %s, want %s (%v)", provider.ClassOf(err), tc.wantClass, err)
			}
			if err != nil && provider.IsNotFound(err) {
				t.Errorf("a failed delete reads as already gone: %v", err)
			}
		})
	}
}
