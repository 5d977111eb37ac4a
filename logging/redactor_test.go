package logging_test

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/operable-go/operable/logging"
)

func TestRedactor(t *testing.T) {
	known := &logging.KnownValues{}
	r := logging.NewRedactor(logging.RedactOptions{Keys: []string{"tenant_pin"}, Known: known})
	known.Add(knownVal) // after NewRedactor: seen from then on
	cases := []struct{ key, value, want string }{
		{"auth.token", "abc", "[REDACTED]"},
		{"http.request.header.x-secret-key", "abc", "[REDACTED]"},
		{"X-Aws-Secret-Access-Key", "abc", "[REDACTED]"},
		{"tenant_pin", "1234", "[REDACTED]"},
		{"acme.tenant-pin", "1234", "[REDACTED]"},
		{"password", "", ""},
		{"url.query", "api_key=abc&page=2", "api_key=[REDACTED]&page=2"},
		{"url.full", "https://h/x?X-Amz-Signature=abc123&X-Amz-Expires=60", "https://h/x?X-Amz-Signature=[REDACTED]&X-Amz-Expires=60"},
		{"db.statement", "select 1 -- " + knownVal, "select 1 -- [REDACTED]"},
		{"note", "sent " + url.QueryEscape(knownVal+"/x") + " ok", "sent [REDACTED]%2Fx ok"},
		{"service.name", "orders", "orders"},
		{"http.request.header.x-functions-key", "abc", "[REDACTED]"},
		{"http.response.header.set-cookie", "sid=1", "[REDACTED]"},
		{"http.request.header.accept", "text/plain", "text/plain"},
		{"flag_key", "greeting-style", "greeting-style"},
		{"auth_method", "approle", "approle"},
	}
	for name, want := range map[string]string{"X-Functions-Key": "[REDACTED]", "X-Auth-User": "[REDACTED]", "Idempotency-Key": "[REDACTED]",
		"Accept": "text/plain", "X-Request-Id": "text/plain", "Keep-Alive": "text/plain"} {
		if got := r.Header(name, "text/plain"); got != want {
			t.Errorf("Header(%q) = %q, want %q", name, got, want)
		}
	}
	for _, c := range cases {
		if got := r.Attr(c.key, c.value); got != c.want {
			t.Errorf("Attr(%q, %q) = %q, want %q", c.key, c.value, got, c.want)
		}
	}
	if got, want := r.String("Bearer "+bearer+" for "+base64.StdEncoding.EncodeToString([]byte(knownVal))), "Bearer [REDACTED] for [REDACTED]"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	for key, want := range map[string]bool{"X-Secret-Key": true, "cookies": true, "sig": true, "route": false, "key": false, "flag_key": false, "token_count": false} {
		if got := r.Sensitive(key); got != want {
			t.Errorf("Sensitive(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestRedactorZeroValue: the zero value and a nil *Redactor use the
// default keys and no known values, as logging.Mask(s, nil) does.
func TestRedactorZeroValue(t *testing.T) {
	var zero logging.Redactor
	var nilR *logging.Redactor
	in := "GET /x?token=abc&page=1 " + jwt
	for name, r := range map[string]*logging.Redactor{"zero": &zero, "nil": nilR} {
		if got, want := r.String(in), logging.Mask(in, nil); got != want || strings.Contains(got, "abc") {
			t.Errorf("%s: String(%q) = %q, want %q", name, in, got, want)
		}
		if got := r.Attr("Authorization", "Basic x"); got != "[REDACTED]" {
			t.Errorf("%s: Attr(Authorization) = %q", name, got)
		}
		if r.Sensitive("tenant_pin") {
			t.Errorf("%s: a key of another Redactor is sensitive", name)
		}
	}
}

// TestRedactorConcurrentUse: values added while other goroutines mask are
// seen by them without a race (run with -race).
func TestRedactorConcurrentUse(t *testing.T) {
	known := &logging.KnownValues{}
	r := logging.NewRedactor(logging.RedactOptions{Known: known})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				v := fmt.Sprintf("s3cret-%d-%d", g, i)
				known.Add(v)
				if got := r.String("x " + v + " y"); got != "x [REDACTED] y" {
					t.Errorf("String after Add(%q) = %q", v, got)
					return
				}
				_ = r.Attr("k", base64.StdEncoding.EncodeToString([]byte(v)))
			}
		})
	}
	wg.Wait()
}

// TestRedactorAllocations: nothing to mask, no allocation.
func TestRedactorAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	known := &logging.KnownValues{}
	known.Add(knownVal)
	known.Add("another-s3cret/with+specials=")
	r := logging.NewRedactor(logging.RedactOptions{Known: known})
	if n := testing.AllocsPerRun(100, func() {
		_ = r.String("dial tcp 10.0.0.7:5432: connection refused")
		_ = r.Attr("url.full", "https://h/items?page=2&sort=name")
		_ = r.Attr("token", "abc")
	}); n != 0 {
		t.Errorf("%.0f allocations, want 0", n)
	}
}
