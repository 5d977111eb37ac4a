// Package ofprovider is an OpenFeature provider (github.com/open-feature/go-sdk)
// over this module's in-process flag evaluation: services that call the
// OpenFeature API get the same evaluator, reasons and error codes as the
// native featureflags API, and can later swap in the flagd provider without
// touching a call site.
package ofprovider

import (
	"context"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/operable-go/operable/featureflags"
)

// Source hands out the current flags: a *featureflags.File (reloaded as
// its file changes), a *featureflags.Set, or operable.Service.Flags' owner.
type Source interface {
	Set() *featureflags.Set
}

// Provider is an of.FeatureProvider. The zero value is not usable; make it
// with New.
type Provider struct {
	src Source
}

// New returns a provider that evaluates from src at each call, so that a
// reloaded file is seen at once.
func New(src Source) *Provider { return &Provider{src: src} }

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

var _ of.FeatureProvider = (*Provider)(nil)
