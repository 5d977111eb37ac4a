package logging_test

// The classes of leak found by the hardening review (issue 16), one table
// each: parameters of URLs and text by name, known values in encoded
// forms, header maps by key. Each case goes through every path of
// logging.New (the single pass, the chain, a sink) and through Mask.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/operable-go/operable/logging"
)

// logEverywhere logs value as the message, as an attribute, inside an
// error and inside a group, on every path of logging.New, and returns
// everything the outputs received.
func logEverywhere(known *logging.KnownValues, value string) string {
	p := newPipelines(known)
	for _, l := range []*slog.Logger{p.single, p.chain, p.sinked} {
		l.Info(value)
		l.Info("m", "url", value)
		l.Warn("audit send failed", "error", fmt.Errorf("put %q: %w", value, errors.New("refused")))
		l.Info("m", slog.Group("req", slog.String("target", value)))
	}
	var all strings.Builder
	for _, out := range []*bytes.Buffer{p.singleOut, p.chainOut, p.sinkedOut, p.sinkOut} {
		all.Write(out.Bytes())
	}
	return all.String()
}

// TestParametersMaskedByName: the value of a parameter whose name is
// sensitive is masked in any string (a logged URL, an error quoting a
// presigned URL, free text), the rest of the URL kept.
func TestParametersMaskedByName(t *testing.T) {
	cases := []struct {
		name, in string
		secrets  []string // none may come out
		keep     []string // each must come out (in the JSON lines, as escaped there)
	}{
		{"query api_key", "/items?api_key=qk3y-v4lue-1&page=2", []string{"qk3y-v4lue-1"},
			[]string{"/items?api_key=[REDACTED]&page=2"}},
		{"query password and token", "https://h/login?user=bob&password=pw-v4lue-22&token=tk-v4lue-33#top",
			[]string{"pw-v4lue-22", "tk-v4lue-33"}, []string{"user=bob&password=[REDACTED]&token=[REDACTED]#top"}},
		{"aws presigned", "https://b.s3.amazonaws.com/o.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
			"&X-Amz-Credential=AKID7EX%2F20261201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261201T000000Z" +
			"&X-Amz-Expires=900&X-Amz-Security-Token=IQoJb3JpZ2luX2VjE-st&X-Amz-SignedHeaders=host" +
			"&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
			[]string{"5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", "IQoJb3JpZ2luX2VjE-st", "AKID7EX%2F20261201"},
			[]string{"X-Amz-Expires=900", "X-Amz-SignedHeaders=host", "X-Amz-Signature=[REDACTED]", "X-Amz-Algorithm=AWS4-HMAC-SHA256"}},
		{"gcs signed", "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=svc%40p.iam&X-Goog-Signature=0a1b2c3d4e5f6a7b8c9d",
			[]string{"0a1b2c3d4e5f6a7b8c9d", "svc%40p.iam"}, []string{"X-Goog-Signature=[REDACTED]"}},
		{"azure sas", "https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-01&sp=r&sig=Zm9vYmFyYmF6cXV4%2Bx%3D",
			[]string{"Zm9vYmFyYmF6cXV4"}, []string{"sv=2022-11-02&se=2026-12-01&sp=r&sig=[REDACTED]"}},
		{"cloudfront", "https://d1.cloudfront.net/v.mp4?Expires=1767225600&Signature=cfS1gnatur3~vAlue&Key-Pair-Id=K2JCJMDEHXQW5F",
			[]string{"cfS1gnatur3~vAlue"}, []string{"Expires=1767225600&Signature=[REDACTED]&Key-Pair-Id=K2JCJMDEHXQW5F"}},
		{"fragment", "https://app/cb#access_token=fr4gment-t0ken&state=xyz", []string{"fr4gment-t0ken"}, []string{"&state=xyz"}},
		{"form body", "grant_type=client_credentials&client_secret=f0rm-s3cr3t-v&scope=read",
			[]string{"f0rm-s3cr3t-v"}, []string{"grant_type=client_credentials&client_secret=[REDACTED]&scope=read"}},
		{"query without the ?", "api_key=qu3ry-0nly-v&page=2", []string{"qu3ry-0nly-v"}, []string{"api_key=[REDACTED]&page=2"}},
		{"key=value text", "retrying with token=t3xt-t0ken-v and attempt=2", []string{"t3xt-t0ken-v"},
			[]string{"retrying with token=[REDACTED] and attempt=2"}},
		{"otlp headers list", "x-api-key=0tlp-k3y-vvv,x-tenant=acme", []string{"0tlp-k3y-vvv"}, []string{"x-api-key=[REDACTED],x-tenant=acme"}},
		{"cookie header", "theme=dark; session=c00kie-s3ss10n; lang=en", []string{"c00kie-s3ss10n"},
			[]string{"theme=dark; session=[REDACTED]; lang=en"}},
		{"encoded inside another url", "https://idp/login?next=https%3A%2F%2Fapp%2Fcb%3Fstate%3D1%26token%3Dn3sted-t0k3n%26x%3D2",
			[]string{"n3sted-t0k3n"}, []string{"%26token%3D[REDACTED]%26x%3D2"}},
		{"dotted and camel keys", "otel: auth.token=d0tted-t0k3n clientSecret=c4mel-s3cret", []string{"d0tted-t0k3n", "c4mel-s3cret"},
			[]string{"auth.token=[REDACTED] clientSecret=[REDACTED]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := logEverywhere(nil, c.in)
			masked := logging.Mask(c.in, nil)
			for _, s := range c.secrets {
				if strings.Contains(out, s) {
					t.Errorf("logs leak %q:\n%s", s, out)
				}
				if strings.Contains(masked, s) {
					t.Errorf("Mask(%q) = %q, leaks %q", c.in, masked, s)
				}
			}
			for _, k := range c.keep {
				if !strings.Contains(out, k) {
					t.Errorf("logs lost %q:\n%s", k, out)
				}
				if !strings.Contains(masked, k) {
					t.Errorf("Mask(%q) = %q, lost %q", c.in, masked, k)
				}
			}
		})
	}
}

// TestParametersOfOrdinaryNamesKept: names that are not sensitive, empty
// values and the words of ordinary text are left alone.
func TestParametersOfOrdinaryNamesKept(t *testing.T) {
	for _, s := range []string{
		"/items?page=2&sort=name&q=token", "?token=&page=1", "a == b", "x=1 y=2 status=ok",
		"dXNlcjpwYXNzd29yZA", "50% done, key=flag-a", "https://h/p?X-Amz-Expires=900&X-Amz-SignedHeaders=host",
	} {
		if got := logging.Mask(s, nil); got != s {
			t.Errorf("Mask(%q) = %q, want it unchanged", s, got)
		}
	}
}

// TestURLValuesMasked: a *url.URL or url.URL passed with slog.Any, alone
// or in a struct, is written as its text with its password and sensitive
// parameters masked (it renders itself as a Stringer, which the redactor
// otherwise trusts).
func TestURLValuesMasked(t *testing.T) {
	u, _ := url.Parse("https://app:urlp4ss-w0rd@h/x?api_key=u4l-k3y-v&page=2")
	type job struct {
		Target *url.URL
		Name   string
	}
	p := newPipelines(nil)
	for _, l := range []*slog.Logger{p.single, p.chain, p.sinked} {
		l.Info("m", "u", u, "v", *u, "job", job{Target: u, Name: "sync"})
	}
	var text bytes.Buffer
	tl, _ := logging.New(logging.Options{Writer: &text, Format: "text"})
	tl.Info("m", "u", u)
	for name, out := range map[string]string{"single": p.singleOut.String(), "chain": p.chainOut.String(),
		"beside a sink": p.sinkedOut.String(), "sink": p.sinkOut.String(), "text": text.String()} {
		for _, s := range []string{"urlp4ss-w0rd", "u4l-k3y-v"} {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks %q: %s", name, s, out)
			}
		}
		if !strings.Contains(out, "api_key=[REDACTED]&page=2") {
			t.Errorf("%s lost the URL's other parts: %s", name, out)
		}
	}
}

// TestKnownValuesInEncodedForms: a registered value is masked as written
// and in every form it takes in a URL, a header or a JSON text, also
// inside a longer base64 text (a Basic credential).
func TestKnownValuesInEncodedForms(t *testing.T) {
	// Spaces, URL and JSON specials, and bytes whose base64 holds + and /.
	const secret = "s3cr3t v/al+ue&=\"q\"<>\\\xfb\xff\xbe"
	known := &logging.KnownValues{}
	known.Add(secret)
	jsonEsc, _ := json.Marshal(secret)
	forms := map[string]string{
		"query escaped":      url.QueryEscape(secret),
		"path escaped":       url.PathEscape(secret),
		"base64 std":         base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64 url":         base64.URLEncoding.EncodeToString([]byte(secret)),
		"base64 raw std":     base64.RawStdEncoding.EncodeToString([]byte(secret)),
		"base64 raw url":     base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"basic credential":   base64.StdEncoding.EncodeToString([]byte("user:" + secret)),
		"base64 after 1":     base64.StdEncoding.EncodeToString([]byte("x" + secret + "tail")),
		"base64 after 2":     base64.RawURLEncoding.EncodeToString([]byte("xy" + secret + "t")),
		"json escaped":       string(jsonEsc[1 : len(jsonEsc)-1]),
		"json in error text": `{"password_hint":` + string(jsonEsc) + `}`,
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			in := "sent " + form + " upstream"
			out := logEverywhere(known, in)
			masked := logging.Mask(in, known)
			// The part of the form that encodes the value alone: what a
			// leak would show (the first and last 4 characters of an
			// embedded form may encode its neighbours).
			core := form
			if strings.HasPrefix(name, "base64 after") || name == "basic credential" {
				core = form[8 : len(form)-6]
			}
			if strings.Contains(out, core) {
				t.Errorf("logs leak the %s form %q:\n%s", name, core, out)
			}
			if strings.Contains(masked, core) || !strings.Contains(masked, "[REDACTED]") {
				t.Errorf("Mask(%q) = %q, leaks the %s form", in, masked, name)
			}
			if !strings.Contains(masked, "sent ") || !strings.Contains(masked, " upstream") {
				t.Errorf("Mask(%q) = %q, masked more than the value", in, masked)
			}
		})
	}
	// A whole base64 form is masked with its padding.
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		b := enc.EncodeToString([]byte(secret))
		if got := logging.Mask("b="+b+" ok", known); got != "b=[REDACTED] ok" {
			t.Errorf("Mask(%q) = %q, want b=[REDACTED] ok", "b="+b+" ok", got)
		}
	}
}

// TestHeaderMapsMaskedByKey: headers logged with slog.Any (http.Header,
// map[string][]string, map[string]string) have the values of secret-ish
// names masked and the rest kept: the "rejected credentials" line of the
// example service, with its URL.
func TestHeaderMapsMaskedByKey(t *testing.T) {
	secretHeaders := map[string]string{
		"X-Secret-Key":              "h-s3cret-k3y",
		"X-Aws-Secret-Access-Key":   "h-aws-s3cret-acc3ss",
		"Authorization":             "Bearer h-b3arer-t0k3n",
		"Cookie":                    "sid=h-c00kie-v4l",
		"X-Api-Key":                 "h-api-k3y-v4l",
		"X-Auth-Token":              "h-auth-t0k3n",
		"X-Amz-Security-Token":      "h-amz-s3c-t0k3n",
		"X-Access-Key":              "h-acc3ss-k3y",
		"Ocp-Apim-Subscription-Key": "h-subscr1pt10n",
		"X-Hub-Signature-256":       "sha256=h-hub-s1gn4ture",
		"X-Session-Id":              "h-s3ss10n-1d",
		"Proxy-Authorization":       "Basic aC1wcm94eS1hdXRo",
		"X-Auth":                    "h-x-auth-v4lue",
		// Names that are sensitive as header names, not as keys: in
		// header maps only (below, not in the map[string]string).
		"X-Functions-Key": "h-funct10ns-k3y",
		"X-Auth-User":     "h-auth-us3r",
	}
	r := httptest.NewRequest(http.MethodPost, "/items?api_key=h-qu3ry-k3y&page=2", nil)
	for k, v := range secretHeaders {
		r.Header.Set(k, v)
	}
	r.Header.Set("Accept", "application/json")
	r.Header.Set("X-Request-Id", "req-42")
	asStrings := map[string]string{}
	for k, v := range r.Header {
		if k != "X-Functions-Key" && k != "X-Auth-User" {
			asStrings[k] = v[0]
		}
	}
	asSlices := map[string][]string(r.Header.Clone())
	p := newPipelines(nil)
	var text bytes.Buffer
	tl, _ := logging.New(logging.Options{Writer: &text, Format: "text", Level: levelDebug()})
	for _, l := range []*slog.Logger{p.single, p.chain, p.sinked, tl} {
		// As examples/service logs it.
		l.LogAttrs(r.Context(), slog.LevelDebug, "rejected credentials",
			slog.Any("headers", r.Header), slog.String("url", r.URL.String()))
		l.Debug("m", "slices", asSlices, "strings", asStrings, slog.Group("g", slog.Any("h", &r.Header)),
			// Not headers: keys judged by the rules of keys.
			"flags", map[string]string{"flag_key": "greeting-style", "X-Secret-Key": "h-s3cret-k3y"}, "vault", map[string]any{"auth_method": "approle"})
	}
	for name, out := range map[string]string{"single": p.singleOut.String(), "chain": p.chainOut.String(),
		"beside a sink": p.sinkedOut.String(), "sink": p.sinkOut.String(), "text": text.String()} {
		for h, v := range secretHeaders {
			if strings.Contains(out, strings.TrimPrefix(strings.TrimPrefix(v, "Bearer "), "sha256=")) {
				t.Errorf("%s leaks header %s: %s", name, h, out)
			}
		}
		if strings.Contains(out, "h-qu3ry-k3y") {
			t.Errorf("%s leaks the query's api_key: %s", name, out)
		}
		for _, k := range []string{"application/json", "req-42", "page=2", "greeting-style", "approle"} {
			if !strings.Contains(out, k) {
				t.Errorf("%s lost %q: %s", name, k, out)
			}
		}
	}
}

// TestCamelCaseKeys: keys in camelCase, and Go field names without a JSON
// tag, are read word by word: AccessToken as access_token; also when the
// last word is one letter (pinB as pin_b).
func TestCamelCaseKeys(t *testing.T) {
	type session struct {
		AccessToken  string
		RefreshToken string
		SessionID    string
		PrivateKey   string
		TokenCount   int
		CacheKey     string
	}
	const v = "c4mel-c4se-v4lue"
	p := newPipelines(nil, "tenantPin", "pin_b")
	for _, l := range []*slog.Logger{p.single, p.chain, p.sinked} {
		l.Info("m", "s", session{AccessToken: v, RefreshToken: v, SessionID: v, PrivateKey: v, TokenCount: 7, CacheKey: "user:42"},
			"body", map[string]any{"accessToken": v, "idToken": v, "apiKey": v, "APIKey": v, "xApiKey": v, "tenantpin": v, "TenantPin": v, "cacheKey": "k1"},
			"authToken", v, "OAuthToken", v, "pinB", v, "userPinB", v)
	}
	for name, out := range map[string]string{"single": p.singleOut.String(), "chain": p.chainOut.String(), "sink": p.sinkOut.String()} {
		if strings.Contains(out, v) {
			t.Errorf("%s leaks: %s", name, out)
		}
		for _, k := range []string{`"TokenCount":7`, `"CacheKey":"user:42"`, `"cacheKey":"k1"`} {
			if !strings.Contains(out, k) {
				t.Errorf("%s lost %s: %s", name, k, out)
			}
		}
	}
}

// TestJSONFieldsInTextMasked: JSON inside a string (an error quoting a
// response body), also escaped by %q, has the values of its sensitive
// fields masked and the others kept.
func TestJSONFieldsInTextMasked(t *testing.T) {
	body := `{"error":"invalid_client","client_secret":"js0n-s3cr3t-v","password": 12345678,"n":1,"nested":{"X-Api-Key":"js0n-n3sted-k3y"},"ok":true}`
	cases := []struct {
		name, in string
		keep     []string
	}{
		{"as is", "token endpoint said 401: " + body, []string{`"error":"invalid_client","client_secret":"[REDACTED]","password": [REDACTED],"n":1`}},
		{"quoted by %q", fmt.Sprintf("token endpoint said 401: %q", body), []string{`\"client_secret\":\"[REDACTED]\"`, `\"n\":1`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := logging.Mask(c.in, nil)
			for _, s := range []string{"js0n-s3cr3t-v", "12345678", "js0n-n3sted-k3y"} {
				if strings.Contains(got, s) {
					t.Errorf("Mask(%q) = %q, leaks %q", c.in, got, s)
				}
			}
			for _, k := range c.keep {
				if !strings.Contains(got, k) {
					t.Errorf("Mask(%q) = %q, lost %q", c.in, got, k)
				}
			}
			if out := logEverywhere(nil, c.in); strings.Contains(out, "js0n-s3cr3t-v") {
				t.Errorf("logs leak: %s", out)
			}
		})
	}
	for _, s := range []string{`unknown key "token": did you mean "tokens"?`, `{"token_count":12,"route":"/x"}`} {
		if got := logging.Mask(s, nil); got != s {
			t.Errorf("Mask(%q) = %q, want it unchanged", s, got)
		}
	}
}
