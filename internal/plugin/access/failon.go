package access

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// FailOn is the set of row kinds that --fail-on names; a review that lists
// any such row fails, so that a CI job can gate on it.
type FailOn struct {
	// Unmanaged matches rows with StateUnmanaged, except those declared
	// elsewhere: a Collaborator in another namespace declares that member,
	// and the AccessPolicy itself counts them as Compliant, so a gate that
	// failed on them would fail on a setup the operator calls healthy.
	Unmanaged bool
	// Conflict matches Collaborators whose Ready reason is Conflict.
	Conflict bool
	// Expiring, when positive, matches rows whose expiresAt is at most this
	// far away; those already past it match too, since their access ended
	// (or is about to be removed) and the review should say so.
	Expiring time.Duration
}

// ParseFailOn parses --fail-on: a comma-separated list of unmanaged,
// conflict and expiring=DURATION (a Go duration, or days as "30d").
func ParseFailOn(s string) (FailOn, error) {
	var f FailOn
	if strings.TrimSpace(s) == "" {
		return f, errors.New("--fail-on is empty; give unmanaged, conflict or expiring=DURATION")
	}
	for item := range strings.SplitSeq(s, ",") {
		key, val, hasVal := strings.Cut(strings.TrimSpace(item), "=")
		switch {
		case key == "unmanaged" && !hasVal:
			f.Unmanaged = true
		case key == "conflict" && !hasVal:
			f.Conflict = true
		case key == "expiring" && hasVal:
			d, err := ParseDuration(val)
			if err != nil {
				return f, fmt.Errorf("--fail-on expiring=%s: %w", val, err)
			}
			f.Expiring = d
		case key == "expiring":
			return f, errors.New("--fail-on expiring needs a duration, as in expiring=720h or expiring=30d")
		default:
			return f, fmt.Errorf("--fail-on %q: unknown item; give unmanaged, conflict or expiring=DURATION", item)
		}
	}
	return f, nil
}

// Match says why the row matches, or "" when it does not.
func (f FailOn) Match(r *Row, now time.Time) string {
	var why []string
	if f.Unmanaged && r.State == StateUnmanaged && !r.DeclaredElsewhere {
		why = append(why, "unmanaged")
	}
	if f.Conflict && r.State == collabv1alpha1.ReasonConflict {
		why = append(why, "conflict")
	}
	if f.Expiring > 0 && r.ExpiresAt != nil && !r.ExpiresAt.After(now.Add(f.Expiring)) {
		why = append(why, Expires(r.ExpiresAt, now))
	}
	return strings.Join(why, ", ")
}

// Matches are the rows that match, each as a line for stderr.
func (f FailOn) Matches(rows []Row, now time.Time) []string {
	var out []string
	for i := range rows {
		if why := f.Match(&rows[i], now); why != "" {
			r := &rows[i]
			out = append(out, fmt.Sprintf("%s %s/%s: %s on %s %s (%s)",
				strings.ToLower(r.Source), r.Namespace, r.Name, r.Member, r.Provider, r.Target, why))
		}
	}
	return out
}

// ParseDuration is time.ParseDuration that also takes whole days, as "30d"
// or "1d12h", since access is granted and renewed in days. `renew --for`
// parses its value with it too, so both flags take the same forms.
func ParseDuration(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 32)
		if err != nil || n > 100_000 {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number, as in 30d", s)
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, positive(days)
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration: %w (use a Go duration such as 720h, or days such as 30d)", err)
	}
	return days + d, positive(days + d)
}

func positive(d time.Duration) error {
	if d <= 0 {
		return errors.New("the duration must be positive")
	}
	return nil
}
