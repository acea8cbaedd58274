package appharbor

import (
	"context"
	"fmt"
	"time"

	"github.com/collab-dev/collaborator-operator/internal/provider"
)

var _ provider.Lister = (*Client)(nil)

// ListMembers returns the application's collaborators from the shared
// snapshot (the one Observe reads). AppHarbor's list has no email and no
// owner flag, and its API cannot say which user a token belongs to, so no
// member is flagged Owner or Self: an AccessPolicy names the token's own
// account in exempt.
func (c *Client) ListMembers(ctx context.Context, t provider.Target) ([]provider.Member, time.Time, error) {
	list, at, err := c.cache.Read(ctx, c.key(t.Application), c.maxAge, provider.FreshRead(ctx), c.fetch(t.Application))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("listing AppHarbor application %s: %w", t.Application, err)
	}
	out := make([]provider.Member, 0, len(list))
	for _, col := range list {
		if col.ID == "" {
			// Without an id from its url the entry could neither be matched
			// nor removed; skipping it never removes anyone by mistake.
			continue
		}
		out = append(out, provider.Member{ID: col.ID, Label: col.User.Name, UserID: col.User.ID, Name: col.User.Name, Access: col.Role})
	}
	return out, at, nil
}

// RemoveMember removes a collaborator with DELETE
// /applications/:slug/collaborators/:id. As for Delete, a 404 counts as
// gone only when a fresh list confirms it.
func (c *Client) RemoveMember(ctx context.Context, t provider.Target, m provider.Member) error {
	if m.Owner || m.Self || m.ID == "" {
		return &provider.Error{Provider: providerName, Op: "delete collaborator", Class: provider.ClassRejected,
			Message: fmt.Sprintf("refusing to remove %q from %s: it is the owner or the credentials' own account", m.Name, t.Application)}
	}
	key := c.key(t.Application)
	err := c.api.DeleteCollaborator(ctx, t.Application, m.ID)
	if err == nil {
		c.cache.Update(key, func(list []Collaborator) []Collaborator { return withoutID(list, m.ID) })
		return nil
	}
	c.cache.Invalidate(key)
	if provider.IsNotFound(err) {
		list, _, listErr := c.cache.Refresh(ctx, key, c.maxAge, c.fetch(t.Application))
		if listErr == nil {
			gone := true
			for i := range list {
				if list[i].ID == m.ID {
					gone = false
				}
			}
			if gone {
				return nil
			}
		}
	}
	return fmt.Errorf("removing AppHarbor collaborator %s from %s: %w", m.ID, t.Application, err)
}
