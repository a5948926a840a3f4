// Package lintcmd implements `fabplan lint`: checks plans in seconds, with no network and no
// credentials. It holds the flags and their wiring to package lint, which owns the checks and
// the output formats.
//
// It never calls the Factory's Client or Credential: lint must run in CI without either.
package lintcmd
