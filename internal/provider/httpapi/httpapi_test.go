package httpapi

import (
	"net/url"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		in   string
		want time.Duration
	}{
		"seconds":   {"7", 7 * time.Second},
		"spaces":    {" 3 ", 3 * time.Second},
		"negative":  {"-1", 0},
		"date":      {now.Add(time.Minute).Format("Mon, 02 Jan 2006 15:04:05 GMT"), time.Minute},
		"past date": {now.Add(-time.Minute).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 0},
		"garbage":   {"soon", 0},
		"empty":     {"", 0},
		"huge":      {"99999999999", 24 * time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := RetryAfter(tc.in, now); got != tc.want {
				t.Fatalf("RetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestJoinURL(t *testing.T) {
	tests := map[string]struct {
		base string
		segs []string
		want string
	}{
		"no slash":     {"https://h/api/v2", []string{"projects", "read"}, "https://h/api/v2/projects/read"},
		"slash":        {"https://h/api/v2/", []string{"authenticate"}, "https://h/api/v2/authenticate"},
		"root":         {"https://h", []string{"a"}, "https://h/a"},
		"escapes":      {"https://h/", []string{"a/b", "c?d", "%2F"}, "https://h/a%2Fb/c%3Fd/%252F"},
		"dot segments": {"https://h", []string{".", ".."}, "https://h/%2E/%2E%2E"},
		"keeps base %": {"https://h/x%2Fy", []string{"z"}, "https://h/x%2Fy/z"},
		"plus is kept": {"https://h", []string{"a+b="}, "https://h/a+b="},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			base, err := url.Parse(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			if got := JoinURL(base, tc.segs...).String(); got != tc.want {
				t.Fatalf("JoinURL = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	s := Secrets{"a/b c", ""}
	got := s.Scrub("x a/b c y a%2Fb%20c z a%2Fb+c")
	if got != "x <redacted> y <redacted> z <redacted>" {
		t.Fatalf("Scrub = %q", got)
	}
}

func TestParseBaseURL(t *testing.T) {
	for _, bad := range []string{"", "ftp://h", "/rel", "https://u:p@h", "https://h/../x", "https://"} {
		if _, err := ParseBaseURL(bad); err == nil {
			t.Errorf("ParseBaseURL(%q) accepted", bad)
		}
	}
	u, err := ParseBaseURL("https://h/api/v2?x=1#f")
	if err != nil || u.String() != "https://h/api/v2" {
		t.Fatalf("%v %v", u, err)
	}
}
