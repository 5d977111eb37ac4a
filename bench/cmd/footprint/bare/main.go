// Command bare is the yardstick of cmd/footprint: a hello-world service on
// net/http and log/slog alone, with the routes of examples/first.
package main

import (
	"log/slog"
	"net/http"
	"os"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "greeting", "name", r.PathValue("name"))
		_, _ = w.Write([]byte("hello, " + r.PathValue("name") + "\n"))
	})
	srv := &http.Server{Addr: ":8080", Handler: mux}
	if err := srv.ListenAndServe(); err != nil {
		logger.Error("server stopped", "error", err)
		os.Exit(1)
	}
}
