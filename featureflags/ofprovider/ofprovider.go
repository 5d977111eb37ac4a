// Package ofprovider is an OpenFeature provider (github.com/open-feature/go-sdk)
// over this module's in-process flag evaluation: services that call the
// OpenFeature API get the same evaluator, reasons and error codes as the
// native featureflags API, and can later swap in the flagd provider without
// touching a call site.
//
// Over a source that tells its reloads (a [Notifier], such as a
// *featureflags.File) the provider also emits OpenFeature's provider
// events, as flagd's providers do: PROVIDER_CONFIGURATION_CHANGED with the
// keys of the flags that changed after each reload that changed some,
// PROVIDER_STALE when the file stops parsing (the last good flags still
// answer), and PROVIDER_READY when it parses again.
package ofprovider

import (
	"context"
	"slices"
	"sync"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/operable-go/operable/featureflags"
)

// Source hands out the current flags: a *featureflags.File (reloaded as
// its file changes), a *featureflags.Set, or operable.Service.Flags' owner.
type Source interface {
	Set() *featureflags.Set
}

// Notifier is a Source that tells its reloads, as [featureflags.File.Subscribe]
// does: fn after each failed reload with the error, after each good one
// that changed flags or ended a bad spell with the new set and the changed
// keys; cancel ends the calls. fn must not be called concurrently with
// itself.
type Notifier interface {
	Source
	Subscribe(fn func(set *featureflags.Set, changed []string, err error)) (cancel func())
}

// Provider is an of.FeatureProvider, an of.StateHandler and an
// of.EventHandler, safe for concurrent use. The zero value is not usable;
// make it with New.
//
// Events flow from Init to Shutdown, which the OpenFeature API calls when
// the provider is set and when it is replaced or the API shut down. They
// are queued, never dropped and never blocking a reload: configuration
// changes not yet delivered merge into one (their keys joined), and a
// STALE followed by a READY not yet delivered cancel out. A source whose
// last reload had failed when Init ran is reported STALE just after
// (known limitation: the OpenFeature SDK announces READY itself once Init
// returns, from another goroutine, and the two may reach handlers in
// either order).
type Provider struct {
	src    Source
	events chan of.Event
	wake   chan struct{} // capacity 1: the queue has something

	mu      sync.Mutex
	queue   []of.Event
	stale   bool
	done    chan struct{} // nil unless started
	stopped chan struct{}
	cancel  func()
}

// New returns a provider that evaluates from src at each call, so that a
// reloaded file is seen at once.
func New(src Source) *Provider {
	return &Provider{src: src, events: make(chan of.Event), wake: make(chan struct{}, 1)}
}

// EventChannel returns the channel of the provider's events; the
// OpenFeature API reads it.
func (p *Provider) EventChannel() <-chan of.Event { return p.events }

// Init starts the events when the source is a Notifier; it never fails.
// A second Init without a Shutdown between does nothing.
func (p *Provider) Init(of.EvaluationContext) error {
	n, ok := p.src.(Notifier)
	if !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return nil
	}
	p.done, p.stopped = make(chan struct{}), make(chan struct{})
	p.queue, p.stale = nil, false
	if e, ok := p.src.(interface{ Err() error }); ok {
		if err := e.Err(); err != nil {
			p.stale = true
			p.push(p.event(of.ProviderStale, err.Error(), nil))
		}
	}
	p.cancel = n.Subscribe(p.reloaded)
	go p.pump(p.done, p.stopped)
	return nil
}

// Shutdown stops the events and waits for the goroutine Init started.
func (p *Provider) Shutdown() {
	p.mu.Lock()
	done, stopped, cancel := p.done, p.stopped, p.cancel
	p.done, p.stopped, p.cancel, p.queue = nil, nil, nil, nil
	p.mu.Unlock()
	if done == nil {
		return
	}
	cancel()
	close(done)
	<-stopped
}

// reloaded turns one reload into events.
func (p *Provider) reloaded(_ *featureflags.Set, changed []string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return
	}
	if err != nil {
		if !p.stale {
			p.stale = true
			p.push(p.event(of.ProviderStale, err.Error(), nil))
		}
		return
	}
	if p.stale {
		p.stale = false
		p.push(p.event(of.ProviderReady, "the flags parse again", nil))
	}
	if len(changed) > 0 {
		p.push(p.event(of.ProviderConfigChange, "flags reloaded", slices.Clone(changed)))
	}
}

func (p *Provider) event(t of.EventType, msg string, keys []string) of.Event {
	return of.Event{ProviderName: p.Metadata().Name, EventType: t,
		ProviderEventDetails: of.ProviderEventDetails{Message: msg, FlagChanges: keys}}
}

// push queues ev, merging it with the last undelivered event where that
// loses nothing; the caller holds mu.
func (p *Provider) push(ev of.Event) {
	if n := len(p.queue); n > 0 {
		last := &p.queue[n-1]
		switch {
		case ev.EventType == of.ProviderConfigChange && last.EventType == of.ProviderConfigChange:
			for _, k := range ev.FlagChanges {
				if !slices.Contains(last.FlagChanges, k) {
					last.FlagChanges = append(last.FlagChanges, k)
				}
			}
			slices.Sort(last.FlagChanges)
			return
		case ev.EventType == of.ProviderReady && last.EventType == of.ProviderStale,
			ev.EventType == of.ProviderStale && last.EventType == of.ProviderReady:
			p.queue = p.queue[:n-1]
			return
		}
	}
	p.queue = append(p.queue, ev)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// pump delivers the queue to the event channel until done.
func (p *Provider) pump(done, stopped chan struct{}) {
	defer close(stopped)
	for {
		p.mu.Lock()
		var ev of.Event
		have := len(p.queue) > 0
		if have {
			ev = p.queue[0]
			p.queue = p.queue[1:]
		}
		p.mu.Unlock()
		if !have {
			select {
			case <-p.wake:
				continue
			case <-done:
				return
			}
		}
		select {
		case p.events <- ev:
		case <-done:
			return
		}
	}
}

// Metadata names the provider.
func (p *Provider) Metadata() of.Metadata { return of.Metadata{Name: "operable-featureflags"} }

// Hooks returns none.
func (p *Provider) Hooks() []of.Hook { return nil }

// evalContext reads OpenFeature's flattened context: "targetingKey" is the
// targeting key, every entry an attribute.
func evalContext(flat of.FlattenedContext) featureflags.EvalContext {
	tk, _ := flat[of.TargetingKey].(string)
	return featureflags.EvalContext{TargetingKey: tk, Attributes: flat}
}

func detail[T any](d featureflags.Details[T]) of.ProviderResolutionDetail {
	r := of.ProviderResolutionDetail{Reason: of.Reason(d.Reason), Variant: d.Variant, FlagMetadata: of.FlagMetadata(d.Metadata)}
	switch d.ErrorCode {
	case "":
	case featureflags.FlagNotFound:
		r.ResolutionError = of.NewFlagNotFoundResolutionError("flag not found")
	case featureflags.TypeMismatch:
		r.ResolutionError = of.NewTypeMismatchResolutionError("the flag's variants hold another type")
	case featureflags.ParseError:
		r.ResolutionError = of.NewParseErrorResolutionError("the flag's targeting does not compile")
	case featureflags.ProviderNotReady:
		r.ResolutionError = of.NewProviderNotReadyResolutionError("no flags loaded")
	default:
		r.ResolutionError = of.NewGeneralResolutionError("targeting named a variant the flag does not have")
	}
	return r
}

// BooleanEvaluation evaluates a boolean flag.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, def bool, flat of.FlattenedContext) of.BoolResolutionDetail {
	d := p.src.Set().BoolDetails(flag, def, evalContext(flat))
	return of.BoolResolutionDetail{Value: d.Value, ProviderResolutionDetail: detail(d)}
}

// StringEvaluation evaluates a string flag.
func (p *Provider) StringEvaluation(_ context.Context, flag string, def string, flat of.FlattenedContext) of.StringResolutionDetail {
	d := p.src.Set().StringDetails(flag, def, evalContext(flat))
	return of.StringResolutionDetail{Value: d.Value, ProviderResolutionDetail: detail(d)}
}

// FloatEvaluation evaluates a numeric flag.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, def float64, flat of.FlattenedContext) of.FloatResolutionDetail {
	d := p.src.Set().FloatDetails(flag, def, evalContext(flat))
	return of.FloatResolutionDetail{Value: d.Value, ProviderResolutionDetail: detail(d)}
}

// IntEvaluation evaluates an integer flag.
func (p *Provider) IntEvaluation(_ context.Context, flag string, def int64, flat of.FlattenedContext) of.IntResolutionDetail {
	d := p.src.Set().IntDetails(flag, def, evalContext(flat))
	return of.IntResolutionDetail{Value: d.Value, ProviderResolutionDetail: detail(d)}
}

// ObjectEvaluation evaluates an object flag; the value is the variant
// decoded as encoding/json decodes into an any (maps and slices).
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, def any, flat of.FlattenedContext) of.InterfaceResolutionDetail {
	d := featureflags.ObjectDetails[any](p.src.Set(), flag, def, evalContext(flat))
	return of.InterfaceResolutionDetail{Value: d.Value, ProviderResolutionDetail: detail(d)}
}

var (
	_ of.FeatureProvider = (*Provider)(nil)
	_ of.StateHandler    = (*Provider)(nil)
	_ of.EventHandler    = (*Provider)(nil)
	_ Notifier           = (*featureflags.File)(nil)
)
