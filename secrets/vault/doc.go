// Package vault is a secrets.Provider backed by HashiCorp Vault, with the
// session a long-running service needs around github.com/hashicorp/vault/api:
//
//   - Login by token (VAULT_TOKEN), AppRole (VAULT_ROLE_ID and a secret id
//     read from VAULT_SECRET_ID_FILE at every login) or Kubernetes
//     (VAULT_KUBERNETES_ROLE and the service-account JWT, read again at every
//     login because the kubelet rotates it), through the standard VAULT_*
//     variables (VAULT_ADDR, VAULT_NAMESPACE, VAULT_CACERT).
//   - The token is renewed before it expires and, once renewal no longer
//     extends it (its max TTL), replaced by a new login before it runs
//     out. Logins are single-flight and retried with jittered exponential
//     backoff, so that many callers never become a login storm. A token the
//     client logged in for is revoked when [Client.Run] returns.
//   - References are "path#field": "kv/data/app#password" (KV v2, with
//     versions), "secret/app#password" (KV v1), "database/creds/app#username"
//     (a dynamic secret: one lease per path, shared by its fields).
//     Values are cached: after the first read of a path, [Client.Get]
//     answers from memory and never waits for Vault. [Client.Run] re-reads
//     KV paths every Options.Refresh, renews leases before they expire and
//     reads new credentials when a lease reaches its max TTL; subscribers
//     ([Client.Subscribe]) learn of every new value, so that a connection
//     pool can swap credentials without a restart.
//   - During an outage the last good values are served for up to
//     Options.MaxStale (and never past a lease's expiry), a circuit breaker
//     (package breaker) stops the calls to Vault until it answers again,
//     and the non-critical health check [Client.Check] warns; the first
//     successful refresh clears it.
//   - Every value handed out is registered with Options.Known (the log
//     redactor's logging.KnownValues), so that it is masked wherever it
//     would appear in a log.
package vault
