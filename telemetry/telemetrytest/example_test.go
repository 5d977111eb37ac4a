package telemetrytest_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/operable-go/operable/telemetry"
	"github.com/operable-go/operable/telemetry/telemetrytest"
)

// An Observer attached to a provider's options sees its spans and metric
// points in memory; TestHTTP judges a handler's HTTP telemetry with it.
func ExampleTestHTTP() {
	obs := telemetrytest.NewObserver()
	opts := telemetry.Options{ServiceName: "example", Environ: map[string]string{}}
	obs.Attach(&opts)
	p, err := telemetry.New(context.Background(), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Shutdown(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	err = telemetrytest.TestHTTP(p.Middleware(mux), obs, []telemetrytest.Request{
		{Method: "GET", Path: "/items/1", Route: "/items/{id}", Status: 200},
		{Method: "GET", Path: "/items/2", Route: "/items/{id}", Status: 200},
		{Method: "GET", Path: "/boom", Route: "/boom", Status: 500},
	})
	fmt.Println(err, len(obs.Spans()))
	// Output: <nil> 3
}
