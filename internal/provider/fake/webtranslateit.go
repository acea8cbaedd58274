package fake

import (
	"fmt"
	"strings"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// webTranslateIt behaves like internal/provider/webtranslateit: the API
// documents only a delete by email, so Observe, Create and Update fail
// with provider.ErrUnsupported without a request, and its members are
// added by the test (they exist before any Collaborator).
type webTranslateIt struct{}

var _ adapter = webTranslateIt{}

func wtiUnsupported(op string) error {
	return fmt.Errorf("WebTranslateIt %s: the API offers only a delete: %w", op, provider.ErrUnsupported)
}

func (webTranslateIt) observe(*Client, *collabv1alpha1.Collaborator) (provider.Observation, error) {
	return provider.Observation{}, wtiUnsupported("read collaboration")
}

func (webTranslateIt) create(*Client, *collabv1alpha1.Collaborator) (provider.Creation, error) {
	return provider.Creation{}, wtiUnsupported("create collaboration")
}

func (webTranslateIt) update(*Client, *collabv1alpha1.Collaborator) error {
	return wtiUnsupported("update collaboration")
}

// remove removes the person from the organization. WebTranslateIt has no
// read, so its documented "Couldn't find this collaborator on that
// organization." is taken at its word: success, as the real client
// decides, even when (under an injected Gone) the person is still there. Any other 404 is
// ClassUnauthorized, as the real client decides: the token is the path,
// so an undocumented 404 means it addresses no organization.
func (webTranslateIt) remove(c *Client, col *collabv1alpha1.Collaborator) error {
	const op = "delete collaboration"
	if col == nil || col.Spec.WebTranslateIt == nil {
		return rejectedSpec(c.p.name, op, "webTranslateIt")
	}
	email := col.Spec.WebTranslateIt.Email
	if email == "" {
		return &provider.Error{Provider: c.p.name, Op: op, Class: provider.ClassRejected, Message: "email is empty"}
	}
	heard, _ := exchange(c.p, c.call(OpDelete, Organization, email, email), func(*Call) (Answer, struct{}) {
		ms := c.p.targetLocked(Organization)
		for id, m := range ms {
			// Emails match regardless of case, as people type them.
			if strings.EqualFold(m.ID, email) {
				delete(ms, id)
				c.p.version++
				return Answer{}, struct{}{}
			}
		}
		return gone("Couldn't find this collaborator on that organization."), struct{}{}
	})
	var perr *provider.Error
	switch heard.Kind {
	case OK:
		return nil
	case Gone:
		return nil
	default:
		perr = c.p.errorFor(op, heard)
	}
	return fmt.Errorf("removing %s from the WebTranslateIt organization: %w", email, perr)
}
