package telemetry_test

import (
	"context"
	"errors"
	"fmt"
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

// New reports every bad variable at once, each as a *VarError naming it.
func ExampleVarError() {
	_, err := telemetry.New(context.Background(), telemetry.Options{Environ: map[string]string{
		"OTEL_TRACES_SAMPLER": "sometimes", "OTEL_BSP_MAX_QUEUE_SIZE": "lots",
	}})
	var ve *telemetry.VarError
	fmt.Println(errors.As(err, &ve))
	fmt.Println(err)
	// Output:
	// true
	// telemetry: OTEL_TRACES_SAMPLER: unsupported sampler "sometimes" (want always_off, always_on, parentbased_always_off, parentbased_always_on, parentbased_traceidratio or traceidratio)
	// OTEL_BSP_MAX_QUEUE_SIZE: "lots" is not a positive integer
}
