package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aymanbagabas/go-udiff"
	"github.com/bazelbuild/buildtools/build"

	"github.com/fabplan/fabplan/builtins"
)

// Format returns src in buildifier style (bazelbuild/buildtools' build.Format: 4-space indent,
// double quotes, one keyword argument per line in long calls, comments kept). path is used
// for error messages only. The plan dialect's parser (builtins.FileOptions, as evaluation uses)
// checks the file first, so that a file fabplan would reject is never reformatted.
func Format(path string, src []byte) ([]byte, error) {
	if _, err := builtins.FileOptions.Parse(path, src, 0); err != nil {
		return nil, err
	}
	f, err := build.ParseDefault(path, src)
	if err != nil {
		return nil, err
	}
	out := build.Format(f)
	// buildtools re-escapes some strings (bytes that are not UTF-8 become octal escapes) in ways
	// the plan dialect rejects; never hand back a file that no longer parses.
	if _, err := builtins.FileOptions.Parse(path, out, 0); err != nil {
		return nil, fmt.Errorf("%s: cannot be formatted: the formatted file would not parse (%v); look for bytes that are not UTF-8 in a string", path, err)
	}
	return out, nil
}

// FormatOptions say what `fabplan fmt` does. With none of Write, Check and Diff set, the
// formatted source of every file is written to the output (as gofmt does).
type FormatOptions struct {
	Paths []string // files and directories, as for lint; empty means "."
	Write bool     // -w: rewrite files in place
	Check bool     // --check: list files that are not formatted; they make the exit status 1
	Diff  bool     // --diff: print a unified diff for each file that is not formatted
}

// FormatResult lists what FormatPaths found.
type FormatResult struct {
	Files       []string // every file looked at
	Unformatted []string // files whose formatted form differs (before any rewrite)
	Check       bool     // copied from the options, for ExitCode
}

// ExitCode is 1 when --check found unformatted files, else 0. An error from FormatPaths
// (a bad path, a file that does not parse, a failed write) is exit status 2.
func (r FormatResult) ExitCode() int {
	if r.Check && len(r.Unformatted) > 0 {
		return ExitFindings
	}
	return ExitClean
}

// FormatPaths formats every plan file under opts.Paths, writing listings, diffs or sources to
// out. It carries on past a file it cannot format and returns all such errors joined; each
// names its file and, for a syntax error, the line.
func FormatPaths(opts FormatOptions, out io.Writer) (FormatResult, error) {
	res := FormatResult{Check: opts.Check}
	files, err := discover(opts.Paths)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, name := range files {
		res.Files = append(res.Files, name)
		src, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got, err := Format(name, src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		changed := !bytes.Equal(src, got)
		if changed {
			res.Unformatted = append(res.Unformatted, name)
		}
		if err := emitFormatted(opts, out, name, src, got, changed); err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

func emitFormatted(opts FormatOptions, out io.Writer, name string, src, got []byte, changed bool) error {
	if !opts.Write && !opts.Check && !opts.Diff {
		_, err := out.Write(got)
		return err
	}
	if !changed {
		return nil
	}
	if opts.Check {
		if _, err := fmt.Fprintln(out, name); err != nil {
			return err
		}
	}
	if opts.Diff {
		if _, err := io.WriteString(out, udiff.Unified(name, name+" (formatted)", string(src), string(got))); err != nil {
			return err
		}
	}
	if opts.Write {
		if err := replaceFile(name, got); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// replaceFile writes data beside name and renames it into place, keeping the file's mode, so
// that an interrupted -w leaves either the old file or the new one.
func replaceFile(name string, data []byte) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".fabplan-fmt-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
