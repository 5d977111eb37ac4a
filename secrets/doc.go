// Package secrets holds sensitive values so that they cannot leak by accident,
// and fetches them by reference.
//
// A [Secret] prints as [REDACTED] through every fmt verb, log/slog,
// encoding/json and encoding.TextMarshaler; its value is read only through
// [Secret.Reveal]. A [Provider] fetches a secret by reference: [Env] from
// environment variables (local development), [Files] from mounted files
// such as Kubernetes secrets (re-read at every Get, so rotations are seen);
// a [Resolver] dispatches "scheme:reference" strings to them. secretstest
// checks third-party providers. Package secrets/vault is the Vault provider:
// a session that logs in, renews, re-reads and survives outages.
package secrets
