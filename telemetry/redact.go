package telemetry

import (
	"context"
	"errors"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Redactor masks secrets in the text a [Provider] exports: span names,
// span, event and link attributes, status descriptions, and the resource's
// attributes. The package does not know the rules; the root package gives
// one built on package logging's (sensitive keys, secret shapes, the
// service's known secret values).
//
// Redact returns value with its secrets masked, or value itself when it
// holds none. key is the attribute's key ("url.full",
// "http.request.header.authorization", "auth.token"), or "" for text that
// has none: a span's or an event's name, a status description. Only string
// values (and each element of a string slice) are passed; numbers and
// booleans are exported as they are. Redact must be safe for concurrent
// use, and fast: it runs when each span ends, on the goroutine that ends
// it.
type Redactor interface {
	Redact(key, value string) string
}

// RedactorFunc adapts a function to a [Redactor].
type RedactorFunc func(key, value string) string

// Redact returns f(key, value).
func (f RedactorFunc) Redact(key, value string) string { return f(key, value) }

// redactingProcessor hands every ended span, its secrets masked, to the
// span processors behind it, so that none of them (the exporters' batch
// processors, the caller's) ever holds the span as it was recorded. A span
// is masked once, whatever the number of processors. OnStart passes the
// live span on unmasked: processors that export read spans in OnEnd, as
// the SDK's do.
type redactingProcessor struct {
	r    Redactor
	next []sdktrace.SpanProcessor
}

func (p *redactingProcessor) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	for _, n := range p.next {
		n.OnStart(ctx, s)
	}
}

func (p *redactingProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	s = redactSpan(p.r, s)
	for _, n := range p.next {
		n.OnEnd(s)
	}
}

func (p *redactingProcessor) Shutdown(ctx context.Context) error {
	var errs []error
	for _, n := range p.next {
		errs = append(errs, n.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

func (p *redactingProcessor) ForceFlush(ctx context.Context) error {
	var errs []error
	for _, n := range p.next {
		errs = append(errs, n.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// redactedSpan is an ended span with its text masked; everything else is
// the original's.
type redactedSpan struct {
	sdktrace.ReadOnlySpan
	name   string
	attrs  []attribute.KeyValue
	events []sdktrace.Event
	links  []sdktrace.Link
	status sdktrace.Status
}

func (s *redactedSpan) Name() string                     { return s.name }
func (s *redactedSpan) Attributes() []attribute.KeyValue { return s.attrs }
func (s *redactedSpan) Events() []sdktrace.Event         { return s.events }
func (s *redactedSpan) Links() []sdktrace.Link           { return s.links }
func (s *redactedSpan) Status() sdktrace.Status          { return s.status }

// redactSpan returns s itself when r masks nothing in it, else a copy of
// its text with the secrets masked. The original's slices are never
// written: the SDK shares its attributes.
func redactSpan(r Redactor, s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	name := s.Name()
	rname := r.Redact("", name)
	changed := rname != name
	attrs, c := redactAttrs(r, s.Attributes())
	changed = changed || c
	events := s.Events() // a copy: its elements may be rewritten
	for i := range events {
		e := &events[i]
		if n := r.Redact("", e.Name); n != e.Name {
			e.Name, changed = n, true
		}
		if as, c := redactAttrs(r, e.Attributes); c {
			e.Attributes, changed = as, true
		}
	}
	links := s.Links() // a copy too
	for i := range links {
		if as, c := redactAttrs(r, links[i].Attributes); c {
			links[i].Attributes, changed = as, true
		}
	}
	status := s.Status()
	if d := r.Redact("", status.Description); d != status.Description {
		status.Description, changed = d, true
	}
	if !changed {
		return s
	}
	return &redactedSpan{ReadOnlySpan: s, name: rname, attrs: attrs, events: events, links: links, status: status}
}

// redactAttrs returns attrs with the string values masked, and whether any
// was: attrs itself when none was, else a new slice.
func redactAttrs(r Redactor, attrs []attribute.KeyValue) ([]attribute.KeyValue, bool) {
	var out []attribute.KeyValue
	for i, kv := range attrs {
		v, c := redactValue(r, string(kv.Key), kv.Value)
		if c && out == nil {
			out = slices.Clone(attrs)
		}
		if c {
			out[i].Value = v
		}
	}
	if out == nil {
		return attrs, false
	}
	return out, true
}

func redactValue(r Redactor, key string, v attribute.Value) (attribute.Value, bool) {
	switch v.Type() {
	case attribute.STRING:
		s := v.AsString()
		if m := r.Redact(key, s); m != s {
			return attribute.StringValue(m), true
		}
	case attribute.STRINGSLICE:
		ss := v.AsStringSlice() // a copy
		changed := false
		for i, s := range ss {
			if m := r.Redact(key, s); m != s {
				ss[i], changed = m, true
			}
		}
		if changed {
			return attribute.StringSliceValue(ss), true
		}
	}
	return v, false
}

// redactResource returns res with its string attributes masked: /metrics
// shows them in target_info, and every export carries them. The providers
// merge the attributes of the process's OTEL_RESOURCE_ATTRIBUTES under the
// resource they are given (the SDK does it, whatever Options.Environ
// says), so they are merged in here first and masked with the rest: the
// SDK's merge then finds every key set, masked.
func redactResource(r Redactor, res *resource.Resource) *resource.Resource {
	if r == nil {
		return res
	}
	if merged, err := resource.Merge(resource.Environment(), res); err == nil {
		res = merged
	}
	attrs, changed := redactAttrs(r, res.Attributes())
	if !changed {
		return res
	}
	return resource.NewWithAttributes(res.SchemaURL(), attrs...)
}
