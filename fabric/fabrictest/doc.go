// Package fabrictest builds fabric clients against an in-process emulator, for the tests of the
// packages that use the fabric client (Graph and Key Vault lookups, secrets, builtins).
//
// What it owns: starting an emulator that closes when the test ends, and clients signed in to it
// through the real azidentity path with waits short enough for tests.
//
// What it never does: run outside a test (every function takes a testing.TB and is imported by
// _test.go files only), talk to anything but the loopback emulator, or keep state between tests.
package fabrictest
