// Package doctor implements `fabplan doctor [PLAN]`: preflight checks of identity, tokens, Fabric
// access and, for a plan, its capacities, principal lookups, secrets and user-only steps, each
// reported as passed or failed with what to do.
//
// What it owns: the list of checks, their remediation text, the text and --json reports, and the
// exit codes (0 all passed, 1 a check failed, 2 bad arguments, refused before any check).
//
// What it never does: change anything in Fabric, print a secret value (it resolves each secret()
// only to say where it came from; stdout passes through the process's redactor as well), or
// decide how an identity, secret or principal is resolved: it asks the Factory, so that doctor
// checks exactly what run would use.
package doctor
