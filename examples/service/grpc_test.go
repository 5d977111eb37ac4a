package main_test

// Black-box tests of the example's gRPC API (GRPC_ADDR): a real process,
// real gRPC over loopback, real signals, its real stdout and /metrics.

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
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
	line := p.WaitLog(5*time.Second, func(m map[string]any) bool {
		return m["msg"] == "listening" && m["listener"] == "grpc"
	})
	addr, _ := line["addr"].(string)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("gRPC listening line %v has no loopback addr", line)
	}
	return p, addr
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
