// Command service stands in for a service built with operable in
// operabletest's own tests. It keeps the start-up part of the contract
// (HTTP_ADDR, ADMIN_ADDR, a JSON "listening" line per listener, /startupz)
// and stops gracefully on SIGTERM or SIGINT: /readyz fails, the app serves
// for DRAIN_DELAY, then both servers shut down and it exits 0.
//
// Test knobs: EXIT_CODE exits at once with that code after one log line;
// STARTUP_DELAY keeps /startupz at 503 for that long; ANNOUNCE_APP logs
// that address for the app listener instead of the bound one; GRPC_ADDR
// binds a listener that stands in for a gRPC one (it accepts connections
// and closes them) and logs its "listening" line after /startupz passes,
// as a service's gRPC server may, ANNOUNCE_GRPC replacing its address;
// RACE makes a data race before listening.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if c := os.Getenv("EXIT_CODE"); c != "" {
		code, _ := strconv.Atoi(c)
		log.Error("bad configuration", "code", code)
		os.Exit(code)
	}
	if os.Getenv("RACE") != "" {
		racy := 0
		done := make(chan struct{})
		go func() { racy++; close(done) }()
		racy++
		<-done
	}
	startupDelay, _ := time.ParseDuration(os.Getenv("STARTUP_DELAY"))
	drainDelay, _ := time.ParseDuration(os.Getenv("DRAIN_DELAY"))
	started := time.Now()
	var draining atomic.Bool

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	app := http.NewServeMux()
	app.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	app.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		_, _ = io.WriteString(w, "done")
	})
	admin := http.NewServeMux()
	admin.HandleFunc("/startupz", func(w http.ResponseWriter, r *http.Request) {
		if time.Since(started) < startupDelay {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	admin.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})

	var servers []*http.Server
	errs := make(chan error, 2)
	for _, l := range []struct {
		name, env string
		h         http.Handler
	}{{"app", "HTTP_ADDR", app}, {"admin", "ADMIN_ADDR", admin}} {
		ln, err := net.Listen("tcp", os.Getenv(l.env))
		if err != nil {
			log.Error("listen", "listener", l.name, "error", err)
			os.Exit(1)
		}
		addr := ln.Addr().String()
		if a := os.Getenv("ANNOUNCE_APP"); a != "" && l.name == "app" {
			addr = a
		}
		log.Info("listening", "listener", l.name, "addr", addr)
		srv := &http.Server{Handler: l.h, ReadHeaderTimeout: time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
	}

	if a := os.Getenv("GRPC_ADDR"); a != "" {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			log.Error("listen", "listener", "grpc", "error", err)
			os.Exit(1)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
		go func() {
			time.Sleep(startupDelay + 100*time.Millisecond)
			addr := ln.Addr().String()
			if a := os.Getenv("ANNOUNCE_GRPC"); a != "" {
				addr = a
			}
			log.Info("listening", "listener", "grpc", "addr", addr)
		}()
	}

	select {
	case <-ctx.Done():
	case err := <-errs:
		log.Error("serve", "error", err)
		os.Exit(1)
	}
	stop() // a second signal kills at once
	log.Info("shutdown started")
	draining.Store(true)
	time.Sleep(drainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			log.Error("shutdown", "error", err)
		}
	}
	log.Info("shutdown complete")
}
