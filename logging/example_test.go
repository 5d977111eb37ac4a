package logging_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/operable-go/operable/logging"
)

func ExampleNew() {
	logger, err := logging.New(logging.Options{
		Writer: os.Stdout, Service: "orders", Version: "v1.4.0", Env: "production",
		// Drop the time so that the output below is stable.
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	if err != nil {
		panic(err)
	}
	ctx := logging.ContextWithRequestID(context.Background(), "4bf92f3577b34da6")
	logger.InfoContext(ctx, "order placed", "order_id", 1234)
	// Output:
	// {"level":"INFO","msg":"order placed","request_id":"4bf92f3577b34da6","service":"orders","version":"v1.4.0","env":"production","order_id":1234}
}

func ExampleAccessLog() {
	logger, _ := logging.New(logging.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hi")) })
	// Request ids outside, so that the access-log line carries request_id.
	handler := logging.RequestIDs(logging.AccessLog(logger)(mux))
	_ = http.ListenAndServe("127.0.0.1:8080", handler)
}

// KeepOrMakeRequestID keeps a caller's request id that is fit to log and
// replaces one that is not, for transports other than HTTP.
func ExampleKeepOrMakeRequestID() {
	fmt.Println(logging.KeepOrMakeRequestID("req-42"))
	fmt.Println(len(logging.KeepOrMakeRequestID("has spaces\n")))
	// Output:
	// req-42
	// 24
}

// A transport that keeps a record of each call embeds a RequestIDContext
// in it: the record is then the call's context, and carries its id, in one
// allocation.
func ExampleRequestIDContext() {
	type call struct {
		logging.RequestIDContext
		method string
	}
	c := &call{method: "/items.v1.Items/Get"}
	c.Begin(context.Background(), "req-42") // the id the caller sent, if it is fit to log
	var ctx context.Context = c             // what the call's handler runs with
	fmt.Println(c.method, logging.RequestID(ctx))
	// Output:
	// /items.v1.Items/Get req-42
}
