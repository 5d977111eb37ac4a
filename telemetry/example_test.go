package telemetry_test

import (
	"context"
	"log"
	"net/http"

	"github.com/operable-go/operable/telemetry"
)

func ExampleProvider_Middleware() {
	tp, err := telemetry.New(context.Background(), telemetry.Options{ServiceName: "orders", ServiceVersion: "v1.4.0"})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = tp.Shutdown(context.Background()) }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {})
	// Requests are recorded under http_route="/orders/{id}".
	go func() { _ = http.ListenAndServe("127.0.0.1:8080", tp.Middleware(mux)) }()
	// Metrics on a separate listener.
	_ = http.ListenAndServe("127.0.0.1:9090", tp.MetricsHandler())
}
