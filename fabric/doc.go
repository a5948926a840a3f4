// Package fabric is the only way fabplan talks to Microsoft Fabric, and it owns the middleware that
// every call to Fabric (and, through [Client.PipelineOptions], to Graph and Key Vault) passes through:
// identity and per-scope token caching, one retry policy, a circuit breaker per host and API family,
// a throttle shared by every worker of one identity, long-running operations, paging and the one
// error type, [*Error].
//
// The client is built on fabric-sdk-go's azcore pipeline: azcore's own retry is switched off so that
// fabplan's retry policy is the only one, and fabplan's bearer-token policy replaces the SDK's so that
// tokens are refreshed after a TokenExpired answer and never leave over plain http.
//
// The package never prints: it reports through the *slog.Logger it is given (every line redacted)
// and through [Client.Stats]. It knows nothing about plans, steps or the journal.
package fabric
