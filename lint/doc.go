// Package lint checks and formats fabplan plans without network or credentials: what
// `fabplan lint` and `fabplan fmt` run, in CI and in editors.
//
// It owns plan discovery (*.star under the given paths, plus every file they load), the
// checks and their ids and severities (Checks; docs/lint.md documents each with an example),
// suppression comments, the output formats, and formatting. It reads builtins' signature table
// (builtins.Catalog) for the signature checks and runs builtins.Evaluate offline for the
// runtime checks; it never talks to Fabric, never reads a secret and never prints: it returns
// a Report, and the caller writes it.
//
// # API for cmd/fabplan
//
//	lint.Run(opts lint.Options) (lint.Report, error)
//	    Options{Paths []string; Root string; Disable []string; NoEval bool}
//	    Paths: files or directories (default "."); Root: the directory load() may not leave
//	    (default: each entry plan's directory); Disable: check ids to skip; NoEval: static
//	    checks only. The error is a *UsageError (a path that does not exist, an unknown id in
//	    Disable): exit status 2. Problems in plans are findings, never errors.
//	lint.ParseOutputFormat(s string) (lint.OutputFormat, error)  // --format text|json|github|sarif
//	lint.ParseSeverity(s string) (lint.Severity, error)          // --fail-on info|warning|error (default Error)
//	(lint.Report).Write(w io.Writer, f lint.OutputFormat) error   // findings to stdout
//	(lint.Report).ExitCode(failOn lint.Severity) int              // ExitClean or ExitFindings
//	(lint.Report).Count(min lint.Severity) int                    // e.g. for a summary on stderr
//	lint.Checks() []lint.Check; lint.LookupCheck(id) (lint.Check, bool)
//
//	lint.Format(path string, src []byte) ([]byte, error)          // buildifier style
//	lint.FormatPaths(opts lint.FormatOptions, out io.Writer) (lint.FormatResult, error)
//	    FormatOptions{Paths []string; Write, Check, Diff bool}
//	    none set: formatted sources to out; Check: list unformatted files; Diff: unified
//	    diffs; Write: rewrite in place (atomically). The flags combine.
//	(lint.FormatResult).ExitCode() int                            // ExitFindings when Check found unformatted files
//	    An error from FormatPaths (a bad path, a file that does not parse, a failed write)
//	    is exit status 2; FormatPaths carries on past such files and joins the errors.
//
// Exit statuses: ExitClean (0), ExitFindings (1), ExitUsage (2).
//
// # Suppression
//
// A comment `# fabplan:disable=ID[,ID...]` suppresses the named checks: at the end of a line
// of code, on that line; on a line of its own before the first statement, in the whole file;
// on a line of its own elsewhere, in the statement that follows (all its lines). A reason may
// follow after a space. An id that is not a check is itself reported (suppress-unknown).
package lint
