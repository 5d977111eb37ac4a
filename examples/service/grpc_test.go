package main_test

// Black-box tests of the example's gRPC API (GRPC_ADDR): a real process,
// real gRPC over loopback, real signals, its real stdout and /metrics.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	itemsv1 "github.com/operable-go/operable/examples/service/proto/items/v1"
	"github.com/operable-go/operable/operabletest"
)

// startGRPC starts the example with a gRPC listener on a free loopback
// port and returns it with that listener's address.
func startGRPC(t *testing.T, env ...string) (*operabletest.Process, string) {
	t.Helper()
	p := start(t, append([]string{"GRPC_ADDR=127.0.0.1:0"}, env...)...)
	return p, p.GRPCAddr(5 * time.Second)
}

// dial returns a client connection to addr, closed when the test ends.
func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// callCtx bounds one call.
func callCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestGRPCItemsShareTheHTTPStore: an item created over gRPC is read over
// HTTP and one created over HTTP over gRPC; the calls that change items
// want the API key as the HTTP routes do; the answers' codes follow the
// HTTP statuses (NOT_FOUND, INVALID_ARGUMENT, UNAUTHENTICATED).
func TestGRPCItemsShareTheHTTPStore(t *testing.T) {
	t.Parallel()
	const key = "grpc-test-key-5b1f"
	p, addr := startGRPC(t, "API_KEY="+key)
	items := itemsv1.NewItemsServiceClient(dial(t, addr))
	authed := func() context.Context {
		return metadata.AppendToOutgoingContext(callCtx(t), "authorization", "Bearer "+key)
	}

	if _, err := items.CreateItem(callCtx(t), &itemsv1.CreateItemRequest{Name: "no key"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("CreateItem without the key = %v, want Unauthenticated", err)
	}
	if _, err := items.CreateItem(authed(), &itemsv1.CreateItemRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("CreateItem with no name = %v, want InvalidArgument", err)
	}
	it, err := items.CreateItem(authed(), &itemsv1.CreateItemRequest{Name: "from grpc"})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := p.Get(p.AppURL, "/items/"+strconv.FormatInt(it.GetId(), 10)); code != http.StatusOK || !strings.Contains(body, `"from grpc"`) {
		t.Errorf("GET /items/%d = %d %s, want the item created over gRPC", it.GetId(), code, body)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.AppURL+"/items", strings.NewReader(`{"name":"from http"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := p.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /items = %d", resp.StatusCode)
	}
	list, err := items.ListItems(callCtx(t), &itemsv1.ListItemsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range list.GetItems() {
		names = append(names, it.GetName())
	}
	if strings.Join(names, ",") != "from grpc,from http" {
		t.Errorf("ListItems = %q, want both items in id order", names)
	}
	if _, err := items.DeleteItem(authed(), &itemsv1.DeleteItemRequest{Id: it.GetId()}); err != nil {
		t.Errorf("DeleteItem = %v", err)
	}
	if _, err := items.GetItem(callCtx(t), &itemsv1.GetItemRequest{Id: it.GetId()}); status.Code(err) != codes.NotFound {
		t.Errorf("GetItem of the deleted item = %v, want NotFound", err)
	}
	if code, _ := p.Get(p.AppURL, "/items/"+strconv.FormatInt(it.GetId(), 10)); code != http.StatusNotFound {
		t.Errorf("GET /items/%d after the gRPC delete = %d, want 404", it.GetId(), code)
	}
	// The key is a secret: it is in no log line, the calls' included.
	for _, l := range p.Logs() {
		if b, _ := json.Marshal(l); strings.Contains(string(b), key) {
			t.Errorf("the API key is in a log line: %s", b)
		}
	}
}

// probe runs grpc-health-probe against addr (for service, "" for the
// whole server) and returns its exit code (0 SERVING, 4 NOT_SERVING) and
// output.
// TestGRPCWatchOpenAtSIGTERMEndsAndTheStopIsNotHeld: a grpc.health.v1
// Watch stream open when SIGTERM arrives sees NOT_SERVING, is ended by the
// server, and the process exits within the drain delay and a second
// (grpc-go's GracefulStop would otherwise wait for the stream forever).
func TestGRPCWatchOpenAtSIGTERMEndsAndTheStopIsNotHeld(t *testing.T) {
	t.Parallel()
	const drain = time.Second
	// The race detector's runtime sleeps a second at exit unless told not
	// to: the exit measured is the service's own.
	p, addr := startGRPC(t, "SHUTDOWN_DRAIN_DELAY="+drain.String(), "GORACE=atexit_sleep_ms=0")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	watch, err := healthpb.NewHealthClient(dial(t, addr)).Watch(ctx, &healthpb.HealthCheckRequest{Service: "items.v1.ItemsService"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch's first status = %v %v, want SERVING", r, err)
	}
	p.Signal(syscall.SIGTERM)
	sent := time.Now()
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch after SIGTERM = %v %v, want NOT_SERVING", r, err)
	}
	if d := time.Since(sent); d > 500*time.Millisecond {
		t.Errorf("Watch saw NOT_SERVING %s after SIGTERM, want at once", d)
	}
	for err == nil {
		_, err = watch.Recv()
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("the Watch stream ended with %v, want its end from the server (io.EOF)", err)
	}
	if code := p.Wait(drain + time.Second); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	if d := time.Since(sent); d > drain+time.Second {
		t.Errorf("the process exited %s after SIGTERM, want within the drain delay and a second", d)
	}
	p.WaitLog(time.Second, func(m map[string]any) bool { return m["msg"] == "grpc server stopped" && m["calls_cut"] == float64(0) })
}

// TestGRPCKeptAliveClientsLoseNoUnaryCallThroughSIGTERM: 8 clients, each
// on a connection of its own kept alive by pings, send CreateItem calls
// without pause through SIGTERM. A call is lost when it fails after the
// service saw it (its access line, by request id) or fails with anything
// but UNAVAILABLE (refused once the listener closed: never accepted). None
// may be lost, some must be served during the drain, and the number of
// calls the clients saw succeed is the number the service logged OK.
func TestGRPCKeptAliveClientsLoseNoUnaryCallThroughSIGTERM(t *testing.T) {
	t.Parallel()
	p, addr := startGRPC(t, "SHUTDOWN_DRAIN_DELAY=1s", "MAX_ITEMS=100000000")
	type failure struct {
		id  string
		err error
	}
	var (
		mu        sync.Mutex
		failures  []failure
		ok        int
		afterStop int
		stopped   atomic.Bool
		wg        sync.WaitGroup
	)
	for c := range 8 {
		conn := dial(t, addr, grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true, // the server's minimum: 10s
		}))
		items := itemsv1.NewItemsServiceClient(conn)
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("keep-%d-%d", c, i)
				ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(t.Context(), "x-request-id", id), 10*time.Second)
				_, err := items.CreateItem(ctx, &itemsv1.CreateItemRequest{Name: id})
				cancel()
				mu.Lock()
				if err != nil {
					failures = append(failures, failure{id, err})
				} else {
					ok++
					if stopped.Load() {
						afterStop++
					}
				}
				mu.Unlock()
				if status.Code(err) == codes.Unavailable || i > 100_000 {
					return // the server is gone
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	stopped.Store(true)
	p.Signal(syscall.SIGTERM)
	code := p.Wait(15 * time.Second)
	wg.Wait()
	if code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	seen := map[string]string{} // request id → code the service logged
	for _, l := range p.Logs() {
		if l["msg"] == "rpc" && l["rpc_method"] == "CreateItem" {
			id, _ := l["request_id"].(string)
			seen[id], _ = l["code"].(string)
		}
	}
	loggedOK := 0
	for _, c := range seen {
		if c == "OK" {
			loggedOK++
		}
	}
	for _, f := range failures {
		if c, ok := seen[f.id]; ok || status.Code(f.err) != codes.Unavailable {
			t.Errorf("call %s lost: the client got %v, the service logged code %q", f.id, f.err, c)
		}
	}
	if ok != loggedOK {
		t.Errorf("clients saw %d calls succeed, the service logged %d OK", ok, loggedOK)
	}
	if afterStop == 0 {
		t.Errorf("no call was served after SIGTERM, during the drain delay")
	}
	t.Logf("%d calls served (%d after SIGTERM), %d refused once the listener closed", ok, afterStop, len(failures))
}

// TestGRPCPanicIsInternalAndTheServiceKeepsServing: with
// DRILL_PANIC_ITEM, the GetItem of that item panics; the caller gets
// INTERNAL without the panic's text, the service logs the panic with its
// stack, counts it on /metrics, and serves the next calls.
func TestGRPCPanicIsInternalAndTheServiceKeepsServing(t *testing.T) {
	t.Parallel()
	p, addr := startGRPC(t, "DRILL_PANIC_ITEM=boom")
	items := itemsv1.NewItemsServiceClient(dial(t, addr))
	boom, err := items.CreateItem(callCtx(t), &itemsv1.CreateItemRequest{Name: "boom"})
	if err != nil {
		t.Fatal(err)
	}
	calm, err := items.CreateItem(callCtx(t), &itemsv1.CreateItemRequest{Name: "calm"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = items.GetItem(callCtx(t), &itemsv1.GetItemRequest{Id: boom.GetId()})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "DRILL") {
		t.Errorf("GetItem of the drill item = %v, want Internal without the panic's text", err)
	}
	for range 3 {
		if it, err := items.GetItem(callCtx(t), &itemsv1.GetItemRequest{Id: calm.GetId()}); err != nil || it.GetName() != "calm" {
			t.Errorf("GetItem after the panic = %v %v, want served", it, err)
		}
	}
	if code, _ := p.Get(p.AppURL, "/items"); code != http.StatusOK {
		t.Errorf("GET /items after the panic = %d", code)
	}
	line := p.WaitLog(5*time.Second, func(m map[string]any) bool { return m["msg"] == "rpc handler panicked" })
	if stack, _ := line["stack"].(string); !strings.Contains(stack, "examples/service/grpc.go") || line["level"] != "ERROR" {
		t.Errorf("panic line = %v, want ERROR with the stack through grpc.go", line)
	}
	p.WaitLog(5*time.Second, func(m map[string]any) bool {
		return m["msg"] == "rpc" && m["rpc_method"] == "GetItem" && m["code"] == "INTERNAL"
	})
	want := `rpc_server_panics_total{`
	waitFor(t, 5*time.Second, func() bool {
		_, body := p.Get(p.AdminURL, "/metrics")
		for l := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(l, want) && strings.Contains(l, `rpc_method="items.v1.ItemsService/GetItem"`) && strings.HasSuffix(l, " 1") {
				return true
			}
		}
		return false
	})
}

// TestGRPCMetricsHaveMethodLabelsAndOneSeriesFor100Payloads: 100
// CreateItem calls with 100 different names are one series of
// rpc.server.call.duration, labelled with the system, the method and the
// code; 100 made-up methods are one more (_OTHER), never 100.
func TestGRPCMetricsHaveMethodLabelsAndOneSeriesFor100Payloads(t *testing.T) {
	t.Parallel()
	p, addr := startGRPC(t)
	conn := dial(t, addr)
	items := itemsv1.NewItemsServiceClient(conn)
	for i := range 100 {
		if _, err := items.CreateItem(callCtx(t), &itemsv1.CreateItemRequest{Name: fmt.Sprintf("payload-%d-%x", i, i*7919)}); err != nil {
			t.Fatal(err)
		}
		err := conn.Invoke(callCtx(t), fmt.Sprintf("/made.Up%d/Method%d", i, i), &itemsv1.ListItemsRequest{}, &itemsv1.ListItemsResponse{})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("a made-up method = %v, want Unimplemented", err)
		}
	}
	// The service records a call at its end, which may follow the answer.
	var series []string
	waitFor(t, 5*time.Second, func() bool {
		series = series[:0]
		_, body := p.Get(p.AdminURL, "/metrics")
		for l := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(l, "rpc_server_call_duration_seconds_count{") && !strings.Contains(l, "grpc.health.v1") {
				series = append(series, l)
			}
		}
		return len(series) == 2 && strings.HasSuffix(series[0], " 100") && strings.HasSuffix(series[1], " 100")
	})
	joined := strings.Join(series, "\n")
	for _, w := range []string{
		`rpc_method="items.v1.ItemsService/CreateItem"`, `rpc_response_status_code="OK"`,
		`rpc_method="_OTHER"`, `rpc_response_status_code="UNIMPLEMENTED"`, `rpc_system_name="grpc"`,
	} {
		if !strings.Contains(joined, w) {
			t.Errorf("no %s in the series:\n%s", w, joined)
		}
	}
	_, body := p.Get(p.AdminURL, "/metrics")
	if !strings.Contains(body, `rpc_server_call_duration_seconds_bucket{`) || !strings.Contains(body, `le="0.005"`) {
		t.Errorf("no histogram buckets for rpc.server.call.duration on /metrics")
	}
}

// TestGRPCAccessLineCarriesTheCallersTraceID: a call with a W3C
// traceparent and an x-request-id gets one access line with both, its
// service, method, code, duration and peer; the request id is echoed.
func TestGRPCAccessLineCarriesTheCallersTraceID(t *testing.T) {
	t.Parallel()
	p, addr := startGRPC(t)
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	ctx := metadata.AppendToOutgoingContext(callCtx(t),
		"traceparent", "00-"+traceID+"-b7ad6b7169203331-01", "x-request-id", "grpc-trace-1")
	var header metadata.MD
	if _, err := itemsv1.NewItemsServiceClient(dial(t, addr)).ListItems(ctx, &itemsv1.ListItemsRequest{}, grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	if got := header.Get("x-request-id"); len(got) != 1 || got[0] != "grpc-trace-1" {
		t.Errorf("x-request-id echoed = %v, want [grpc-trace-1]", got)
	}
	line := p.WaitLog(5*time.Second, func(m map[string]any) bool { return m["msg"] == "rpc" && m["request_id"] == "grpc-trace-1" })
	want := map[string]any{
		"trace_id": traceID, "rpc_service": "items.v1.ItemsService", "rpc_method": "ListItems", "code": "OK", "level": "INFO",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("access line %s = %v, want %v (line %v)", k, line[k], v, line)
		}
	}
	if peer, _ := line["peer"].(string); !strings.HasPrefix(peer, "127.0.0.1:") {
		t.Errorf("access line peer = %q, want the caller's loopback address", peer)
	}
	if _, ok := line["duration"].(float64); !ok {
		t.Errorf("access line has no duration: %v", line)
	}
	n := 0
	for _, l := range p.Logs() {
		if l["msg"] == "rpc" && l["request_id"] == "grpc-trace-1" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d access lines for the call, want 1", n)
	}
}
