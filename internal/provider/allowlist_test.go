package provider

import "testing"

func TestURLAllowList(t *testing.T) {
	tests := map[string]struct {
		list string
		base string
		want bool
	}{
		"default QuantConnect":     {DefaultAllowedURLs, "https://www.quantconnect.com/api/v2", true},
		"default AppHarbor":        {DefaultAllowedURLs, "https://appharbor.com", true},
		"default WebTranslateIt":   {DefaultAllowedURLs, "https://webtranslateit.com/", true},
		"host case":                {DefaultAllowedURLs, "https://AppHarbor.com", true},
		"plain http refused":       {DefaultAllowedURLs, "http://appharbor.com", false},
		"other host":               {DefaultAllowedURLs, "https://collector.example", false},
		"suffix host":              {DefaultAllowedURLs, "https://evilappharbor.com", false},
		"sub-domain":               {DefaultAllowedURLs, "https://appharbor.com.evil.example", false},
		"any port without one":     {"http://127.0.0.1", "http://127.0.0.1:18081/api/v2", true},
		"port must match":          {"http://127.0.0.1:18081", "http://127.0.0.1:18082", false},
		"port matches":             {"http://127.0.0.1:18081", "http://127.0.0.1:18081/api/v2", true},
		"default port":             {"https://mirror.example:443", "https://mirror.example/x", true},
		"path prefix":              {"https://mirror.example/qc", "https://mirror.example/qc/api/v2", true},
		"path is whole segments":   {"https://mirror.example/qc", "https://mirror.example/qcx", false},
		"path outside":             {"https://mirror.example/qc", "https://mirror.example/other", false},
		"several entries":          {"http://127.0.0.1, https://mirror.example", "https://mirror.example", true},
		"unparsable base":          {DefaultAllowedURLs, "://", false},
		"relative base":            {DefaultAllowedURLs, "/api/v2", false},
		"user info never matches":  {DefaultAllowedURLs, "https://appharbor.com@collector.example", false},
		"http entry refuses https": {"http://127.0.0.1", "https://127.0.0.1", false},
		"https entry refuses http": {"https://127.0.0.1", "http://127.0.0.1", false},
		"trailing slash in entry":  {"https://mirror.example/qc/", "https://mirror.example/qc/api", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, err := ParseURLAllowList(tc.list)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Allows(tc.base); got != tc.want {
				t.Errorf("%q allows %q = %v, want %v", tc.list, tc.base, got, tc.want)
			}
		})
	}
}

func TestParseURLAllowListRefuses(t *testing.T) {
	for name, list := range map[string]string{ //nolint:gosec // G101: a URL with user info, which must be refused
		"empty":       "",
		"only commas": " , ",
		"no scheme":   "appharbor.com",
		"ftp":         "ftp://appharbor.com",
		"user":        "https://u:p@appharbor.com",
		"query":       "https://appharbor.com?x=1",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseURLAllowList(list); err == nil {
				t.Errorf("%q was accepted", list)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a := Credentials{"userID": []byte("100001"), "apiToken": []byte("tok-a")}
	tests := map[string]struct {
		other Credentials
		same  bool
	}{
		"same credentials":       {Credentials{"apiToken": []byte("tok-a"), "userID": []byte("100001")}, true},
		"same user, other token": {Credentials{"userID": []byte("100001"), "apiToken": []byte("tok-b")}, false},
		"keys and values moved":  {Credentials{"userID": []byte("100001apiToken"), "": []byte("tok-a")}, false},
		"no credentials":         {Credentials{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := a.Fingerprint() == tc.other.Fingerprint(); got != tc.same {
				t.Errorf("equal fingerprints = %v, want %v", got, tc.same)
			}
		})
	}
	if fp := a.Fingerprint(); len(fp) != 32 || fp == "tok-a" {
		t.Errorf("fingerprint %q is not a 128-bit hex digest", fp)
	}
}
