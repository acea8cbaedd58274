package quantconnect

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/collab-dev/collaborator-operator/internal/provider"
)

var _ provider.Lister = (*Client)(nil)

// ListMembers returns the project's collaborators from the shared snapshot
// (the one Observe reads), the owner included. The member whose uid or
// publicId is the API user id of the credentials is flagged Self.
func (c *Client) ListMembers(ctx context.Context, t provider.Target) ([]provider.Member, time.Time, error) {
	list, at, err := c.cache.Read(ctx, c.key(t.ProjectID), c.maxAge, provider.FreshRead(ctx), c.fetch(t.ProjectID))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("listing QuantConnect project %d: %w", t.ProjectID, err)
	}
	out := make([]provider.Member, 0, len(list))
	for _, col := range list {
		access := strings.ToLower(col.Permission)
		if col.LiveControl {
			access += "+live"
		}
		out = append(out, provider.Member{
			ID: col.PublicID, Label: col.PublicID, UserID: strconv.FormatInt(col.UID, 10), Name: col.Name, Email: col.Email,
			Access: access, Owner: col.Owner, Self: c.isSelf(col),
			Write: strings.EqualFold(col.Permission, "write"), LiveControl: col.LiveControl,
		})
	}
	return out, at, nil
}

// isSelf reports the credentials' own account: QuantConnect's API user id
// is the numeric uid, but a Secret naming the publicId is recognised too.
func (c *Client) isSelf(col Collaborator) bool {
	return c.api.userID == strconv.FormatInt(col.UID, 10) || strings.EqualFold(c.api.userID, col.PublicID)
}

// RemoveMember removes a collaborator with /projects/collaboration/delete,
// serialized with the project's other writes; the answer's list renews
// the snapshot. The owner and the credentials' own account are refused
// here too, so that no caller can remove them by mistake.
func (c *Client) RemoveMember(ctx context.Context, t provider.Target, m provider.Member) error {
	if m.Owner || m.Self || m.ID == "" {
		return &provider.Error{Provider: providerName, Op: "delete collaborator", Class: provider.ClassRejected,
			Message: fmt.Sprintf("refusing to remove %q from project %d: it is the owner or the credentials' own account", m.ID, t.ProjectID)}
	}
	key := c.key(t.ProjectID)
	_, err := write(c.cache, key, func() ([]Collaborator, error) {
		return c.api.DeleteCollaborator(ctx, t.ProjectID, m.ID)
	})
	if err == nil {
		return nil
	}
	if refused(err) {
		// Already gone counts as success; a fresh read tells.
		if fresh, readErr := c.refresh(ctx, key, t.ProjectID); readErr == nil && find(fresh, m.ID) == nil {
			return nil
		}
	}
	return fmt.Errorf("removing QuantConnect collaborator %s from project %d: %w", m.ID, t.ProjectID, err)
}
