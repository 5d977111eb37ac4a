package operable

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"
)

// limitWarnEvery is the least time between two "connection limit
// reached" lines: a listener that stays at its bound says so once a
// minute, not at every connection.
const limitWarnEvery = time.Minute

// limitListener is netutil.LimitListener's bound on the open connections,
// made visible: when a connection takes the last slot (so that the next
// caller waits in the kernel's backlog, silent to it and to every probe) it
// logs a warning with the count and the bound, at most once a
// limitWarnEvery. A listener that stays full without turnover logs it
// once: nothing is accepted to log it again.
type limitListener struct {
	net.Listener // the bounded one
	logger       *slog.Logger
	name         string // the listener's, for the line
	max          int64
	open         atomic.Int64
	warned       atomic.Int64 // unix nanoseconds of the last line
}

func newLimitListener(ln net.Listener, n int, name string, logger *slog.Logger) *limitListener {
	return &limitListener{Listener: netutil.LimitListener(ln, n), logger: logger, name: name, max: int64(n)}
}

// Accept accepts a connection within the bound, counting it open until its
// Close.
func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if n := l.open.Add(1); n >= l.max {
		now, last := time.Now().UnixNano(), l.warned.Load()
		if (last == 0 || now-last >= int64(limitWarnEvery)) && l.warned.CompareAndSwap(last, now) {
			l.logger.Warn("connection limit reached: new connections wait until one closes",
				slog.String("listener", l.name), slog.Int64("open", n), slog.Int64("limit", l.max))
		}
	}
	return &countedConn{Conn: c, l: l}, nil
}

// countedConn takes itself off its listener's open count at its first
// Close.
type countedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

// Close takes the connection off the count before it gives netutil's
// slot back, so that the next accept never counts one too many.
func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}
