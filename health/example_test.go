package health_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/operable-go/operable/health"
)

func ExampleChecker() {
	var checks health.Checker
	_ = checks.Add(health.Check{
		Name:   "database",
		Groups: health.Readiness,
		Func:   func(ctx context.Context) error { return errors.New("connection refused") },
	})
	_ = checks.Add(health.Check{
		Name:        "cache",
		NonCritical: true, // a failure only warns
		Func:        func(ctx context.Context) error { return nil },
	})
	readyz := checks.Handler(health.Readiness, health.HandlerOptions{})

	rec := httptest.NewRecorder()
	readyz.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz?exclude=database", nil))
	fmt.Println(rec.Code, rec.Body.String())

	rec = httptest.NewRecorder()
	readyz.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 200 {"status":"pass"}
	//
	// 503 {"status":"fail","checks":{"cache":[{"componentType":"component","status":"pass"}],"database":[{"componentType":"component","status":"fail"}]}}
}
