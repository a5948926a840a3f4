// Package fmtcmd implements `fabplan fmt`: buildifier-style formatting of plans. It holds the
// flags and their wiring to lint.FormatPaths, which owns formatting.
//
// It never calls the Factory's Client or Credential, and never rewrites a file without -w.
package fmtcmd
