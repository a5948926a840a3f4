package builtins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Every file a plan makes fabplan read (plans, loaded modules, schemas, environment files,
// definition folders and their parts) goes through this file: it is resolved to its real path,
// which must stay inside the real plan root, so that a symbolic link cannot hand Fabric a file
// from elsewhere on the machine.

// escapeError is a path whose real location is outside the plan root.
type escapeError struct {
	path, link, target, root string
}

func (e *escapeError) Error() string {
	if e.link == "" {
		return fmt.Sprintf("%s resolves to %s, outside the plan root %s; keep the file inside the root", e.path, e.target, e.root)
	}
	return fmt.Sprintf("%s is a symbolic link to %s, outside the plan root %s; copy the file into the plan root instead of linking to it",
		e.link, e.target, e.root)
}

// RealPath is dir, absolute, with every symbolic link resolved (dir itself when it cannot be
// resolved). Evaluation computes the plan root's once; lint uses it for load() targets.
func RealPath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return abs
}

// within reports whether path lies in dir (both absolute and clean).
func within(dir, path string) bool {
	r, err := filepath.Rel(dir, path)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

// checkReal resolves p and refuses it when its real path leaves the plan root. A path that does
// not exist is let through: the caller reports it as missing.
func (ev *evaluation) checkReal(p string) error {
	return CheckInside(ev.realRoot, ev.root, p)
}

// CheckInside resolves p's symbolic links and returns an error naming the link and its target
// when the real path is outside realRoot (shown as root). lint calls it for the files it follows.
func CheckInside(realRoot, root, p string) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil
	}
	if abs, err := filepath.Abs(real); err == nil {
		real = abs
	}
	if within(realRoot, real) {
		return nil
	}
	e := &escapeError{path: p, target: real, root: root}
	// Name the first component of p that is a link, and what it points to as written.
	parts := strings.Split(filepath.Clean(p), string(filepath.Separator))
	for i := range parts {
		prefix := strings.Join(parts[:i+1], string(filepath.Separator))
		if prefix == "" {
			continue
		}
		if st, err := os.Lstat(prefix); err == nil && st.Mode()&fs.ModeSymlink != 0 {
			e.link = prefix
			if t, err := os.Readlink(prefix); err == nil {
				e.target = t
			}
			break
		}
	}
	return e
}

// readInside reads a file after checking that its real path is inside the plan root.
func (ev *evaluation) readInside(p string) ([]byte, error) {
	if err := ev.checkReal(p); err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// CheckText reports the first byte of b that makes it unfit as text: a NUL byte (which would
// end the text early for some readers) or bytes that are not UTF-8. Plans, loaded modules and
// the text parts of definitions must pass it; lint checks plans with it before parsing them.
func CheckText(b []byte) (line, col int, msg string, ok bool) {
	line, col = 1, 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, fmt.Sprintf("byte 0x%02x is not valid UTF-8; save the file as UTF-8", b[i]), false
		case r == 0:
			return line, col, "NUL byte; remove it (a NUL would cut the text short)", false
		case r == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		i += size
	}
	return 0, 0, "", true
}

// textError is a file whose bytes are not valid text, at a position.
type textError struct {
	file      string
	line, col int
	msg       string
}

func (e *textError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.file, e.line, e.col, e.msg)
}

// checkTextFile returns a *textError when b is not valid UTF-8 text without NUL.
func checkTextFile(file string, b []byte) error {
	if line, col, msg, ok := CheckText(b); !ok {
		return &textError{file: file, line: line, col: col, msg: msg}
	}
	return nil
}

// treeFile is one file of a definition folder: its path relative to the folder (with /) and bytes.
type treeFile struct {
	rel, path string
	data      []byte
}

// maxTreeDepth bounds how deep a definition folder (and any linked folders in it) is followed.
const maxTreeDepth = 32

// readTree reads every file under dir, following symbolic links that stay inside the plan root
// (a link to a folder is read as that folder) and refusing the others.
func (ev *evaluation) readTree(dir string) ([]treeFile, error) {
	var out []treeFile
	var walk func(p, rel string, depth int) error
	walk = func(p, rel string, depth int) error {
		if depth > maxTreeDepth {
			return fmt.Errorf("%s: folders nested more than %d deep (a link loop?)", p, maxTreeDepth)
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		for _, e := range entries {
			ep, er := filepath.Join(p, e.Name()), e.Name()
			if rel != "" {
				er = rel + "/" + e.Name()
			}
			if e.Type()&fs.ModeSymlink != 0 {
				if err := ev.checkReal(ep); err != nil {
					return err
				}
			}
			st, err := os.Stat(ep)
			if err != nil {
				return err
			}
			switch {
			case st.IsDir():
				if err := walk(ep, er, depth+1); err != nil {
					return err
				}
			case st.Mode().IsRegular():
				b, err := os.ReadFile(ep)
				if err != nil {
					return err
				}
				out = append(out, treeFile{rel: er, path: ep, data: b})
			default:
				return fmt.Errorf("%s is not a regular file; definition folders hold files and folders only", ep)
			}
		}
		return nil
	}
	if err := ev.checkReal(dir); err != nil {
		return nil, err
	}
	if err := walk(dir, "", 0); err != nil {
		var ee *escapeError
		if errors.As(err, &ee) {
			return nil, err
		}
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	return out, nil
}
