package operable_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/secrets"
)

// TestDebugPagesAndVerboseProbesAreRedacted: a secret the service knows,
// written raw by a /debug/ page of its own or carried by a check's error,
// is masked on the way out, as in the logs; binary pages pass as they are.
func TestDebugPagesAndVerboseProbesAreRedacted(t *testing.T) {
	const token, planted = "admin-token-0123456789", "planted-secret-value-42"
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv("ADMIN_TOKEN", token), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	s.MaskSecret(secrets.New(planted))
	s.HandleDebug("GET /debug/leaky", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"dsn":"postgres://app:`+planted+`@db/app","note":"`+planted+`"}`)
	}))
	s.HandleDebug("GET /debug/blob", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, "\x00\x01"+planted)
	}))
	if err := s.AddCheck(health.Check{Name: "upstream", Func: func(context.Context) error {
		return errors.New("upstream refused the key " + planted)
	}}); err != nil {
		t.Fatal(err)
	}
	admin := s.AdminHandler()
	get := func(path string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	for _, path := range []string{"/debug/leaky", "/readyz?verbose", "/debug/pprof/cmdline", "/debug/config"} {
		code, body := get(path)
		if strings.Contains(body, planted) {
			t.Errorf("GET %s (%d) shows the secret: %s", path, code, body)
		}
	}
	if code, body := get("/debug/leaky"); code != 200 || !strings.Contains(body, `"note":"`) {
		t.Errorf("GET /debug/leaky = %d %s, want the page, masked", code, body)
	}
	if _, body := get("/readyz?verbose"); !strings.Contains(body, "upstream refused the key") {
		t.Errorf("GET /readyz?verbose lost the check's output: %s", body)
	}
	if _, body := get("/debug/blob"); !strings.Contains(body, planted) {
		t.Error("a binary page was rewritten")
	}
}

// TestDebugPagesReachTheConnection: a /debug/ page can still set its write
// deadline through http.ResponseController (pprof extends it for a long
// profile) behind the masking of the pages.
func TestDebugPagesReachTheConnection(t *testing.T) {
	const token = "admin-token-0123456789"
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv("ADMIN_TOKEN", token), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	s.HandleDebug("GET /debug/deadline", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv := httptest.NewServer(s.AdminHandler())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/debug/deadline", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("GET /debug/deadline = %d %s, want 200 ok", resp.StatusCode, body)
	}
}
