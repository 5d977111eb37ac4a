package checkers_test

import (
	"database/sql"
	"log"
	"net/http"
	"time"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/checkers"
)

func Example() {
	db, err := sql.Open("sqlite", "app.db") // the pool the application uses
	if err != nil {
		log.Fatal(err)
	}
	var checks health.Checker
	_ = checks.Add(health.Check{
		Name: "database", ComponentType: "datastore",
		Func:     checkers.SQL(db),
		Interval: 5 * time.Second, Timeout: time.Second, FailureThreshold: 2,
	})
	_ = checks.Add(health.Check{
		Name: "payments", ComponentType: "http", NonCritical: true,
		Func:     checkers.HTTP(http.DefaultClient, "http://payments.internal/healthz", checkers.HTTPOptions{}),
		Interval: 10 * time.Second,
	})
	_ = checks.Add(health.Check{
		Name: "goroutines", Groups: health.Liveness,
		Func: checkers.Goroutines(10_000),
	})
}
