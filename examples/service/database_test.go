package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/operable-go/operable/internal/testserver"
	"github.com/operable-go/operable/operabletest"
)

// TestItemsCreatedThroughSIGTERMSurviveARestart: clients create items
// while the service receives SIGTERM; every item answered 201 is there
// after a restart on the same database, on the embedded SQLite file and on
// PostgreSQL; the migrations run once (the restart finds nothing to do).
func TestItemsCreatedThroughSIGTERMSurviveARestart(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		survives(t, "DATABASE_DIR="+filepath.Join(t.TempDir(), "data"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := testserver.StartPostgres(t, testserver.Tool(t, "POSTGRES_BIN_DIR"))
		survives(t, "DATABASE_URL="+pg.NewDatabase(t))
	})
}

func survives(t *testing.T, env ...string) {
	env = append(env, "SHUTDOWN_DRAIN_DELAY=200ms")
	bin := operabletest.Build(t, pkg)
	p := operabletest.Start(t, bin, env...)
	// The schema's version has a key of its own: "version" is the
	// service's, at the top of every line (a JSON object with the key twice
	// reads as its last value).
	if m := p.WaitLog(5*time.Second, func(l map[string]any) bool { return l["msg"] == "migrations done" }); m["applied"] != 1.0 ||
		m["schema_version"] != 1.0 || reflect.TypeOf(m["version"]) != reflect.TypeOf("") {
		t.Errorf("first start: migrations done = %v, want 1 applied, schema_version 1 and the service's version", m)
	}
	var mu sync.Mutex
	var created []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for c := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("c%d-%d", c, n)
				resp, err := client.Post(p.AppURL+"/items", "application/json", strings.NewReader(`{"name":"`+name+`"}`))
				if err != nil {
					return // the listener closed: the stop has come
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					created = append(created, name)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	p.Signal(syscall.SIGTERM)
	code := p.Wait(15 * time.Second)
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	if len(created) == 0 {
		t.Fatal("no item was created before the stop")
	}

	again := operabletest.Start(t, bin, env...)
	if m := again.WaitLog(5*time.Second, func(l map[string]any) bool { return l["msg"] == "migrations done" }); m["applied"] != 0.0 {
		t.Errorf("restart: migrations done = %v, want 0 applied", m)
	}
	status, body := again.Get(again.AppURL, "/items")
	if status != http.StatusOK {
		t.Fatalf("GET /items after the restart = %d %s", status, body)
	}
	var items []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, it := range items {
		have[it.Name] = true
	}
	missing := 0
	for _, name := range created {
		if !have[name] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of the %d items answered 201 are missing after the restart", missing, len(created))
	}
	t.Logf("%d items created through the stop, all present after the restart", len(created))
	again.Signal(syscall.SIGTERM)
	if code := again.Wait(15 * time.Second); code != 0 {
		t.Errorf("exit %d after the second SIGTERM, want 0", code)
	}
}
