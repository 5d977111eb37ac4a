package shutdown

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// pollInterval is how often the stop looks again at connections and
// handlers it waits for.
const pollInterval = 5 * time.Millisecond

// conns follows one server's connections (through its ConnState hook) and
// its handlers in flight (through its Handler), so that the stop can tell
// busy connections from idle ones and wait for the handlers it cuts off.
// It is safe for concurrent use.
type conns struct {
	mu       sync.Mutex
	state    map[net.Conn]connState
	inFlight atomic.Int64
}

type connState struct {
	state http.ConnState
	since time.Time
	// read: the connection went active (a request read) and no handler
	// has said since that it began; see [conns.busy].
	read bool
}

// connKey is the context key under which a followed server's connection
// contexts carry their net.Conn, for the handler to name it.
type connKey struct{ c *conns }

// follow wraps the Handler and ConnState of every server, once per
// server. Run calls it before serving.
func (l *Lifecycle) follow() {
	followed := map[*http.Server]*conns{}
	for i := range l.servers {
		s := &l.servers[i]
		if c, ok := followed[s.srv]; ok { // one server on two listeners
			s.conns = c
			continue
		}
		c := &conns{state: map[net.Conn]connState{}}
		followed[s.srv], s.conns = c, c
		next := s.srv.ConnState
		s.srv.ConnState = func(nc net.Conn, st http.ConnState) {
			c.track(nc, st)
			if next != nil {
				next(nc, st)
			}
		}
		nextCtx := s.srv.ConnContext
		s.srv.ConnContext = func(ctx context.Context, nc net.Conn) context.Context {
			if nextCtx != nil {
				ctx = nextCtx(ctx, nc)
			}
			return context.WithValue(ctx, connKey{c}, nc)
		}
		h := s.srv.Handler
		if h == nil {
			h = http.DefaultServeMux
		}
		s.srv.Handler = l.closeFromTheDrain(c, h)
	}
	for i := range l.servers {
		l.servers[i].ln = &listener{Listener: l.servers[i].ln}
		l.servers[i].served = make(chan struct{})
	}
}

// listener is closed once however often Close is called: the stop closes
// it before Shutdown does, and Shutdown must not fail for that.
type listener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *listener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}

// closeFromTheDrain counts next's requests in flight and, from the first
// instant of the stop, makes every response say Connection: close, which
// the HTTP/2 server turns into a GOAWAY, and tells the stop that the
// request's connection has reached its handler.
func (l *Lifecycle) closeFromTheDrain(c *conns, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.inFlight.Add(1)
		defer c.inFlight.Add(-1)
		if l.Phase() >= Draining {
			w.Header().Set("Connection", "close")
			if nc, ok := r.Context().Value(connKey{c}).(net.Conn); ok {
				c.handling(nc)
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (c *conns) track(nc net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch st {
	case http.StateHijacked, http.StateClosed:
		delete(c.state, nc)
	default:
		c.state[nc] = connState{st, time.Now(), st == http.StateActive}
	}
}

// handling notes that a request of nc has reached its handler. Only the
// stop needs it (a connection active since before the stop is busy
// anyway), so handlers call it only from the drain on.
func (c *conns) handling(nc net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.state[nc]; ok && s.state == http.StateActive {
		s.read = false
		c.state[nc] = s
	}
}

// busy counts the connections that a stop begun at began must not close
// yet: those that carried a request less than IdleAfter ago (their client
// may be writing the next one), those accepted whose first request is not
// read yet, however long ago (a TLS handshake or a first write may take a
// while; the turnover's bound caps the wait), those carrying a request that
// began before the stop (its response may not have said Connection:
// close), and those whose request is read but has not reached its handler.
// net/http drops a request it reads once Shutdown has begun (it looks
// between reading the request and calling the handler): hence the last
// two.
// Connections whose request reached its handler since the stop began are
// answered with Connection: close and closed by the server itself.
func (c *conns) busy(began, now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.state {
		switch s.state {
		case http.StateNew:
			n++
		case http.StateIdle:
			if now.Sub(s.since) < IdleAfter {
				n++
			}
		case http.StateActive:
			if s.since.Before(began) || s.read {
				n++
			}
		}
	}
	return n
}

func (l *Lifecycle) turnoverTimeout() time.Duration {
	if l.opts.TurnoverTimeout > 0 {
		return l.opts.TurnoverTimeout
	}
	return DefaultTurnoverTimeout
}

// turnOver waits, at most bound and until ctx is done, until s has no busy
// connection (see conns.busy). s's listener is closed.
func (l *Lifecycle) turnOver(ctx context.Context, s server, began time.Time, bound time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	start := time.Now()
	// Once Serve has returned, every connection it accepted is followed.
	select {
	case <-s.served:
	case <-ctx.Done():
	}
	busy := func() int { return s.conns.busy(began, time.Now()) }
	if poll(ctx, func() bool { return busy() == 0 }) {
		return
	}
	// Connections still carrying requests begun before the stop are
	// answered with Connection: close once Shutdown has begun.
	l.opts.Logger.Debug("connections still busy at the turnover bound", slog.String("server", s.name),
		slog.Int("connections", busy()), seconds("duration", time.Since(start)))
}

// awaitCutOff waits, until ctx is done, for the handlers of the servers
// closed at the end of their drain to return, so that what they log comes
// before the end of the stop.
func (l *Lifecycle) awaitCutOff(ctx context.Context, cut []server) {
	if len(cut) == 0 {
		return
	}
	left := func() int64 {
		var n int64
		for _, s := range cut {
			n += s.conns.inFlight.Load()
		}
		return n
	}
	if !poll(ctx, func() bool { return left() == 0 }) {
		l.opts.Logger.Warn("handlers still running after their servers were closed", slog.Int64("handlers", left()))
	}
}

// poll reports whether done returned true before ctx was done, looking
// every pollInterval.
func poll(ctx context.Context, done func() bool) bool {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if done() {
			return true
		}
		select {
		case <-ctx.Done():
			return done()
		case <-t.C:
		}
	}
}
