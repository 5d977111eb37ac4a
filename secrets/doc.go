// Package secrets holds sensitive values so that they cannot leak by accident.
//
// A [Secret] prints as [REDACTED] through every fmt verb, log/slog,
// encoding/json and encoding.TextMarshaler; its value is read only through
// [Secret.Reveal]. Later work adds the providers (Vault, mounted files,
// environment) that fetch secrets by reference and keep them fresh.
package secrets
