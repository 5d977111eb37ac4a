package logging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// maxRequestIDLen bounds an incoming id; a longer one is replaced.
const maxRequestIDLen = 128

// requestIDBytes is the randomness of a made id, written as twice as many
// hex digits.
const requestIDBytes = 12

type requestIDKey struct{}

// ContextWithRequestID returns a copy of ctx that carries id.
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	switch id := ctx.Value(requestIDKey{}).(type) {
	case string: // ContextWithRequestID's
		return id
	case *string: // a RequestIDContext's
		return *id
	}
	return ""
}

// KeepOrMakeRequestID returns incoming when it is a request id to keep
// (printable ASCII without spaces, at most 128 bytes), else a new random
// one of 24 hex digits: the rule of [RequestIDs], for other transports
// (gRPC metadata, a queue message's header).
func KeepOrMakeRequestID(incoming string) string {
	if validRequestID(incoming) {
		return incoming
	}
	return newRequestID()
}

// RequestIDContext is a context that carries a request id, in a form a
// transport embeds in its own record of a call, so that the record and
// the context that carries the id are one allocation where
// [ContextWithRequestID] makes two. [RequestIDContext.Begin] sets it up
// once; [RequestID] then reads the id from it, and from any context
// derived from it, without allocating. [RequestIDs] is built on it; a gRPC
// server's record of a call is another user.
//
// A made id is a string of its own, not bytes inside the record: a
// transport keeps the strings it sent for a while (HTTP/2's header
// compression table does), and a string inside the record would keep the
// whole record, and all it points to, alive with it.
//
// Its zero value is not yet a context: call Begin first, once, before any
// other method. Once begun it does not change, and is safe for concurrent
// use.
type RequestIDContext struct {
	parent context.Context
	id     string
}

// Begin makes c a child of parent that carries incoming when it is an id to
// keep, else a new random one ([KeepOrMakeRequestID]'s rule), and returns
// the id. It panics when parent is nil, or when c has begun already: the id
// would change under the records of the call.
func (c *RequestIDContext) Begin(parent context.Context, incoming string) string {
	switch {
	case parent == nil:
		panic("logging: RequestIDContext.Begin with a nil parent")
	case c.parent != nil:
		panic("logging: RequestIDContext.Begin called twice")
	}
	c.parent = parent
	c.id = KeepOrMakeRequestID(incoming)
	return c.id
}

// RequestID returns the id Begin set, or "" before it.
func (c *RequestIDContext) RequestID() string { return c.id }

// Deadline, Done and Err are the parent's.
func (c *RequestIDContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done returns the parent's Done.
func (c *RequestIDContext) Done() <-chan struct{} { return c.parent.Done() }

// Err returns the parent's Err.
func (c *RequestIDContext) Err() error { return c.parent.Err() }

// Value returns the id for the request-id key (as a *string, which
// RequestID reads without boxing a string) and asks the parent for any
// other key.
func (c *RequestIDContext) Value(key any) any {
	if _, ok := key.(requestIDKey); ok {
		return &c.id
	}
	return c.parent.Value(key)
}

// String describes the context as the context package's own do.
func (c *RequestIDContext) String() string {
	return fmt.Sprint(c.parent) + ".WithValue(logging.requestIDKey)"
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [requestIDBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	return hex.EncodeToString(b[:])
}
