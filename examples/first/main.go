package main

import (
	"context"
	"net/http"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/health"
)

func main() {
	operable.Main(operable.Options{Name: "first"}, func(ctx context.Context, s *operable.Service) error {
		s.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
			s.Logger().InfoContext(r.Context(), "greeting", "name", r.PathValue("name"))
			_, _ = w.Write([]byte("hello, " + r.PathValue("name") + "\n"))
		})
		return s.AddCheck(health.Check{Name: "upstream", Func: func(ctx context.Context) error {
			return nil // ping your database here
		}})
	})
}
