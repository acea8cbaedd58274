package fake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// quantConnect behaves like internal/provider/quantconnect: every write
// answers with the project's list; refusals come as HTTP 200 with
// success:false and are checked against a fresh read, because only the
// list, not the prose, tells whether the collaborator is there.
type quantConnect struct{}

var (
	_ adapter     = quantConnect{}
	_ listAdapter = quantConnect{}
)

// qcRefusal is QuantConnect's refusal: HTTP 200, success:false.
func qcRefusal(kind Kind, msg string) Answer {
	return Answer{Kind: kind, Status: http.StatusOK, Message: msg}
}

func qcSpec(col *collabv1alpha1.Collaborator, op string) (*collabv1alpha1.QuantConnectCollaborator, provider.Target, error) {
	if col == nil || col.Spec.QuantConnect == nil {
		return nil, provider.Target{}, rejectedSpec(collabv1alpha1.ProviderQuantConnect, op, "quantConnect")
	}
	s := col.Spec.QuantConnect
	return s, provider.Target{ProjectID: s.ProjectID}, nil
}

// qcError is the error for a failed answer. The documented "not a
// collaborator" (Gone) is a refusal like any other: ClassRejected until a
// fresh read shows the collaborator absent.
func (c *Client) qcError(op string, heard Answer) *provider.Error {
	if heard.Kind == Gone {
		heard.Kind = Rejected
		if heard.Status == 0 {
			heard.Status = http.StatusOK
		}
		if heard.Message == "" {
			heard.Message = "not a collaborator of this project"
		}
	}
	return c.p.errorFor(op, heard)
}

// qcRead reads the project's list with request op. A Gone answer is a
// list that omits member (a stale or lying read).
func (c *Client) qcRead(op Op, t provider.Target, member string) ([]Member, time.Time, error) {
	heard, list := exchange(c.p, c.call(op, t, member, ""), func(*Call) (Answer, []Member) {
		c.p.targetLocked(t)
		return Answer{}, c.p.snapshotLocked(t)
	})
	at := c.p.now()
	switch heard.Kind {
	case OK:
		return list, at, nil
	case Gone:
		var omitted []Member
		for _, m := range c.p.Members(t) {
			if m.ID != member {
				omitted = append(omitted, m)
			}
		}
		return omitted, at, nil
	default:
		return nil, time.Time{}, c.p.errorFor("read collaborators", heard)
	}
}

// qcWrite sends a write; the provider acts through change, which returns
// its natural answer. The answer carries the project's list.
func (c *Client) qcWrite(op Op, t provider.Target, member string, change func(ms map[string]*Member) Answer) (Answer, []Member) {
	return exchange(c.p, c.call(op, t, member, ""), func(*Call) (Answer, []Member) {
		a := change(c.p.targetLocked(t))
		if a.Kind != OK {
			return a, nil
		}
		return a, c.p.snapshotLocked(t)
	})
}

// qcDelete removes a non-owner member; QuantConnect refuses otherwise.
func (c *Client) qcDelete(t provider.Target, op Op, userID string) Answer {
	heard, _ := c.qcWrite(op, t, userID, func(ms map[string]*Member) Answer {
		m, ok := ms[userID]
		switch {
		case !ok:
			return qcRefusal(Gone, fmt.Sprintf("%s is not a collaborator of project %d.", userID, t.ProjectID))
		case m.Owner:
			return qcRefusal(Rejected, "The project owner cannot be removed.")
		}
		delete(ms, userID)
		c.p.version++
		return Answer{}
	})
	return heard
}

func (quantConnect) observe(c *Client, col *collabv1alpha1.Collaborator) (provider.Observation, error) {
	s, t, err := qcSpec(col, "read collaborators")
	if err != nil {
		return provider.Observation{}, err
	}
	list, at, err := c.qcRead(OpObserve, t, s.UserID)
	if err != nil {
		return provider.Observation{}, fmt.Errorf("observing QuantConnect collaborator %s on project %d: %w", s.UserID, s.ProjectID, err)
	}
	found := qcFind(list, s.UserID)
	if found == nil {
		return provider.Observation{ObservedAt: at}, nil
	}
	qcFillStatus(col, found)
	return provider.Observation{
		Exists:     true,
		UpToDate:   found.Owner || qcDifference(found, s) == "",
		Difference: qcDifference(found, s),
		ExternalID: strconv.FormatInt(found.UID, 10),
		ObservedAt: at,
	}, nil
}

// create adds the collaborator. QuantConnect refuses an existing one, and
// the fresh read then finds it: the create succeeds, with the access it
// already had, which the next Observe reports as not up to date.
func (quantConnect) create(c *Client, col *collabv1alpha1.Collaborator) (provider.Creation, error) {
	s, t, err := qcSpec(col, "create collaborator")
	if err != nil {
		return provider.Creation{}, err
	}
	heard, list := c.qcWrite(OpCreate, t, s.UserID, func(ms map[string]*Member) Answer {
		if m, ok := ms[s.UserID]; ok {
			if m.Owner {
				return qcRefusal(Rejected, "The project owner is already a collaborator.")
			}
			return qcRefusal(Rejected, fmt.Sprintf("User %s is already a collaborator on this project.", s.UserID))
		}
		c.p.putLocked(t, Member{ID: s.UserID, Write: s.Write, LiveControl: s.LiveControl})
		return Answer{}
	})
	if heard.Kind != OK {
		perr := c.qcError("create collaborator", heard)
		wrapped := fmt.Errorf("creating QuantConnect collaborator %s on project %d: %w", s.UserID, s.ProjectID, perr)
		if perr.Class != provider.ClassRejected {
			return provider.Creation{}, wrapped
		}
		fresh, _, readErr := c.qcRead(OpConfirm, t, s.UserID)
		if readErr != nil {
			return provider.Creation{}, wrapped
		}
		list = fresh
	}
	found := qcFind(list, s.UserID)
	if found == nil {
		return provider.Creation{}, fmt.Errorf("creating QuantConnect collaborator %s on project %d: %w",
			s.UserID, s.ProjectID, c.qcError("create collaborator", heard))
	}
	qcFillStatus(col, found)
	return provider.Creation{ExternalID: strconv.FormatInt(found.UID, 10), UpToDate: found.Owner || qcDifference(found, s) == ""}, nil
}

// update sets the rights; a refusal followed by a read without the
// collaborator is ClassNotFound, so the reconciler creates it again.
func (quantConnect) update(c *Client, col *collabv1alpha1.Collaborator) error {
	s, t, err := qcSpec(col, "update collaborator")
	if err != nil {
		return err
	}
	heard, list := c.qcWrite(OpUpdate, t, s.UserID, func(ms map[string]*Member) Answer {
		m, ok := ms[s.UserID]
		switch {
		case !ok:
			return qcRefusal(Gone, fmt.Sprintf("%s is not a collaborator of project %d.", s.UserID, s.ProjectID))
		case m.Owner:
			return qcRefusal(Rejected, "The project owner's rights cannot be changed.")
		}
		m.Write, m.LiveControl = s.Write, s.LiveControl
		c.p.version++
		return Answer{}
	})
	if heard.Kind == OK {
		if found := qcFind(list, s.UserID); found != nil {
			qcFillStatus(col, found)
		}
		return nil
	}
	perr := c.qcError("update collaborator", heard)
	if perr.Class == provider.ClassRejected {
		if fresh, _, readErr := c.qcRead(OpConfirm, t, s.UserID); readErr == nil && qcFind(fresh, s.UserID) == nil {
			perr = withClass(perr, provider.ClassNotFound, "a fresh read does not list the collaborator")
		}
	}
	return fmt.Errorf("updating QuantConnect collaborator %s on project %d: %w", s.UserID, s.ProjectID, perr)
}

// remove deletes the collaborator. The owner, known from the status, is
// left alone without a call; a refusal is "already gone" (success) only
// when a fresh read succeeds without the user, or shows the user is the
// owner.
func (quantConnect) remove(c *Client, col *collabv1alpha1.Collaborator) error {
	s, t, err := qcSpec(col, "delete collaborator")
	if err != nil {
		return err
	}
	if st := col.Status.QuantConnect; st != nil && st.Owner && st.PublicID == s.UserID {
		return nil
	}
	heard := c.qcDelete(t, OpDelete, s.UserID)
	if heard.Kind == OK {
		return nil
	}
	perr := c.qcError("delete collaborator", heard)
	if perr.Class == provider.ClassRejected {
		if fresh, _, readErr := c.qcRead(OpConfirm, t, s.UserID); readErr == nil {
			found := qcFind(fresh, s.UserID)
			if found == nil || found.Owner {
				return nil
			}
		}
	}
	return fmt.Errorf("deleting QuantConnect collaborator %s on project %d: %w", s.UserID, s.ProjectID, perr)
}

func (quantConnect) list(c *Client, t provider.Target) ([]provider.Member, time.Time, error) {
	heard, list := exchange(c.p, c.call(OpList, t, "", ""), func(*Call) (Answer, []Member) {
		c.p.targetLocked(t)
		return Answer{}, c.p.snapshotLocked(t)
	})
	if heard.Kind != OK {
		if heard.Kind == Gone && heard.Message == "" {
			heard.Message = fmt.Sprintf("Project %d was not found.", t.ProjectID)
		}
		return nil, time.Time{}, fmt.Errorf("listing QuantConnect project %d: %w", t.ProjectID, c.qcError("read collaborators", heard))
	}
	at := c.p.now()
	out := make([]provider.Member, 0, len(list))
	for _, m := range list {
		access := qcPermission(m.Write)
		if m.LiveControl {
			access += "+live"
		}
		uid := strconv.FormatInt(m.UID, 10)
		out = append(out, provider.Member{
			ID: m.ID, Label: m.ID, UserID: uid, Name: m.Name, Email: m.Email, Access: access, Owner: m.Owner,
			Self: c.account == uid || strings.EqualFold(c.account, m.ID), Write: m.Write, LiveControl: m.LiveControl,
		})
	}
	return out, at, nil
}

// removeMember removes a listed member; a refusal followed by a read
// without it is success.
func (quantConnect) removeMember(c *Client, t provider.Target, m provider.Member) error {
	heard := c.qcDelete(t, OpRemove, m.ID)
	if heard.Kind == OK {
		return nil
	}
	perr := c.qcError("delete collaborator", heard)
	if perr.Class == provider.ClassRejected {
		if fresh, _, readErr := c.qcRead(OpConfirm, t, m.ID); readErr == nil && qcFind(fresh, m.ID) == nil {
			return nil
		}
	}
	return fmt.Errorf("removing QuantConnect collaborator %s from project %d: %w", m.ID, t.ProjectID, perr)
}

// qcFind picks the user's entry as the real client does: an exact,
// non-owner match first, then the owner, then the same case-insensitively
// (QuantConnect's profile URLs are case-insensitive).
func qcFind(list []Member, userID string) *Member {
	for _, match := range []func(string) bool{
		func(id string) bool { return id == userID },
		func(id string) bool { return strings.EqualFold(id, userID) },
	} {
		var owner *Member
		for i := range list {
			if !match(list[i].ID) {
				continue
			}
			if !list[i].Owner {
				return &list[i]
			}
			owner = &list[i]
		}
		if owner != nil {
			return owner
		}
	}
	return nil
}

func qcPermission(write bool) string {
	if write {
		return "write"
	}
	return "read"
}

// qcDifference names what QuantConnect holds otherwise than the spec.
func qcDifference(got *Member, s *collabv1alpha1.QuantConnectCollaborator) string {
	if got.Owner {
		return ""
	}
	var diffs []string
	if got.Write != s.Write {
		diffs = append(diffs, fmt.Sprintf("permission is %s, the spec wants %s", qcPermission(got.Write), qcPermission(s.Write)))
	}
	if got.LiveControl != s.LiveControl {
		diffs = append(diffs, fmt.Sprintf("liveControl is %t, the spec wants %t", got.LiveControl, s.LiveControl))
	}
	return strings.Join(diffs, "; ")
}

func qcFillStatus(col *collabv1alpha1.Collaborator, got *Member) {
	col.Status.QuantConnect = &collabv1alpha1.QuantConnectObservation{
		UID: got.UID, PublicID: got.ID, Name: got.Name, Email: got.Email,
		Permission: qcPermission(got.Write), LiveControl: got.LiveControl, Owner: got.Owner,
	}
}
