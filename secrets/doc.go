// Package secrets resolves the values behind a plan's secret("name") calls and keeps them out of
// every output.
//
// What it owns: the resolution order (Azure Key Vault when a vault is configured, else the
// environment variable NAME upper-cased with "-" as "_", else a .env file), the per-run cache with
// its TTL, the fallback policy when Key Vault fails (--secret-fallback; refused under CI=true by
// default), the errors that name vault, secret, cause and fix, the credential variables a plan may
// never read through the environment (CredentialEnv), and the Redactor that scrubs every resolved
// value, in each escaped form it takes, from text, streams and journal lines.
//
// What it never does: print (warnings go to a callback), log a value, or talk to Key Vault itself:
// it is handed a Vault (fabric.KeyVault in the CLI) so that Key Vault calls pass through the same
// middleware and identity as Fabric calls.
package secrets
