package checkers_test

import (
	"context"
	"database/sql"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	_ "modernc.org/sqlite" // a real, embedded SQL engine

	"github.com/operable-go/operable/health/checkers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestSQLUsesThePoolAndFailsWhenTheDatabaseIsGone(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE items (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	check := checkers.SQL(db)
	before := db.Stats().OpenConnections
	for range 50 {
		if err := check(ctx(t)); err != nil {
			t.Fatalf("check = %v", err)
		}
	}
	if after := db.Stats().OpenConnections; after != before {
		t.Errorf("50 probes changed the pool from %d to %d open connections", before, after)
	}
	_ = db.Close()
	if err := check(ctx(t)); err == nil || !strings.HasPrefix(err.Error(), "checkers: sql") {
		t.Errorf("check on a closed database = %v, want a checkers: sql error", err)
	}
}

func TestHTTPReusesTheClientsConnections(t *testing.T) {
	var conns atomic.Int32
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte("a body the checker must drain"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	client := srv.Client()
	check := checkers.HTTP(client, srv.URL+"/healthz", checkers.HTTPOptions{})
	for range 20 {
		if err := check(ctx(t)); err != nil {
			t.Fatalf("check = %v", err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 probes opened %d connections, want 1", n)
	}
	status.Store(http.StatusServiceUnavailable)
	if err := check(ctx(t)); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("check against a 503 = %v", err)
	}
	only418 := checkers.HTTP(client, srv.URL, checkers.HTTPOptions{OK: func(s int) bool { return s == http.StatusServiceUnavailable }})
	if err := only418(ctx(t)); err != nil {
		t.Errorf("custom OK = %v", err)
	}
	client.CloseIdleConnections()
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := checkers.TCP(addr)(ctx(t)); err != nil {
		t.Errorf("TCP to a listener = %v", err)
	}
	ln.Close()
	if err := checkers.TCP(addr)(ctx(t)); err == nil {
		t.Error("TCP to a closed port passed")
	}
}

func TestDNS(t *testing.T) {
	if err := checkers.DNS(nil, "localhost")(ctx(t)); err != nil {
		t.Errorf("DNS localhost = %v", err)
	}
	if err := checkers.DNS(nil, "no-such-host.invalid")(ctx(t)); err == nil {
		t.Error("DNS of an .invalid name passed")
	}
}

func TestThresholds(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name  string
		check func(context.Context) error
		ok    bool
	}{
		{"disk with room", checkers.DiskFree(dir, 1), true},
		{"disk too full", checkers.DiskFree(dir, 1<<62), false},
		{"disk path missing", checkers.DiskFree(filepath.Join(dir, "nope"), 1), false},
		{"goroutines under", checkers.Goroutines(1 << 20), true},
		{"goroutines over", checkers.Goroutines(1), false},
		{"heap under", checkers.HeapBytes(1 << 40), true},
		{"heap over", checkers.HeapBytes(1), false},
	}
	for _, c := range cases {
		if err := c.check(ctx(t)); (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok = %v", c.name, err, c.ok)
		}
	}
}
