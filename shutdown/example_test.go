package shutdown_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/operable-go/operable/shutdown"
)

func ExampleLifecycle() {
	l := shutdown.New(shutdown.Options{
		DrainDelay: 5 * time.Second,  // keep serving while endpoints update
		Timeout:    25 * time.Second, // the whole stop, under the 30 s grace period
	})
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		log.Fatal(err)
	}
	l.Serve("app", &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second}, ln)
	l.Go("ticker", func(ctx context.Context) error {
		<-ctx.Done() // cancelled once the server has drained
		return nil
	})
	l.OnStop(shutdown.Hook{Name: "flush", Timeout: 2 * time.Second, Func: func(ctx context.Context) error {
		return nil
	}})
	// Run returns after SIGTERM or SIGINT and the whole stop sequence.
	if err := l.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func ExampleLifecycle_Stop() {
	l := shutdown.New(shutdown.Options{})
	var order []string
	l.OnStop(shutdown.Hook{Name: "close db", Func: func(context.Context) error { order = append(order, "close db"); return nil }})
	l.OnStop(shutdown.Hook{Name: "stop consumer", Func: func(context.Context) error { order = append(order, "stop consumer"); return nil }})
	l.Stop() // as a signal would
	err := l.Run(context.Background())
	fmt.Println(order, err, l.Phase())
	// Output: [stop consumer close db] <nil> stopped
}
