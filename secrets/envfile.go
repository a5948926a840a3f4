package secrets

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EnvFile is a parsed .env file: KEY=VALUE lines, optional "export ", # comments, values in single
// quotes (literal) or double quotes (with \n, \t, \" and \\ escapes).
type EnvFile struct {
	Path   string
	Values map[string]string
}

// EnvFileError is a .env file fabplan refuses to read. Its message names the file and line,
// never a value.
type EnvFileError struct {
	Path string
	Line int // 0 when the problem is the file itself
	// Kind is what is wrong: EnvFileLink (a symbolic link out of the file's folder), EnvFileText
	// (not UTF-8, or a NUL byte) or EnvFileSyntax.
	Kind EnvFileProblem
	Msg  string
}

// EnvFileProblem classifies an EnvFileError.
type EnvFileProblem int

// Kinds of EnvFileError.
const (
	EnvFileSyntax EnvFileProblem = iota
	EnvFileText
	EnvFileLink
)

func (e *EnvFileError) Error() string {
	if e.Line == 0 {
		return e.Path + " " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// ReadEnvFile parses a .env file. Errors name the file and line, never a value. The file must
// be UTF-8 text without NUL bytes, and may not be a symbolic link that leads out of its folder
// (a link could otherwise feed any file on the machine into a plan's secrets).
func ReadEnvFile(path string) (*EnvFile, error) {
	if err := checkEnvLink(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	f := &EnvFile{Path: path, Values: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if !utf8.Valid(sc.Bytes()) {
			return nil, &EnvFileError{Path: path, Line: n, Kind: EnvFileText, Msg: "not valid UTF-8; save the file as UTF-8"}
		}
		if bytes.IndexByte(sc.Bytes(), 0) >= 0 {
			return nil, &EnvFileError{Path: path, Line: n, Kind: EnvFileText, Msg: "holds a NUL byte; remove it"}
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			return nil, &EnvFileError{Path: path, Line: n, Msg: "want KEY=VALUE"}
		}
		v = strings.TrimSpace(v)
		switch {
		case strings.HasPrefix(v, "'"):
			end := strings.Index(v[1:], "'")
			if end < 0 {
				return nil, &EnvFileError{Path: path, Line: n, Msg: k + ": unterminated single quote"}
			}
			v = v[1 : end+1]
		case strings.HasPrefix(v, `"`):
			q, err := strconv.QuotedPrefix(v)
			if err != nil {
				return nil, &EnvFileError{Path: path, Line: n, Msg: k + ": bad double-quoted value (unterminated, or an unknown escape)"}
			}
			v, _ = strconv.Unquote(q)
			if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
				return nil, &EnvFileError{Path: path, Line: n, Kind: EnvFileText, Msg: k + ": the value's escapes make a NUL or bytes that are not UTF-8"}
			}
		default:
			if i := strings.Index(v, " #"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			}
		}
		f.Values[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	return f, nil
}

// checkEnvLink refuses a path whose real location is outside the real folder it is named in.
func checkEnvLink(path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil // missing: reading it says so
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return nil
	}
	real, _ = filepath.Abs(real)
	dir, _ = filepath.Abs(dir)
	if rel, err := filepath.Rel(dir, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	target, _ := os.Readlink(path)
	if target == "" {
		target = real
	}
	return &EnvFileError{Path: path, Kind: EnvFileLink,
		Msg: fmt.Sprintf("is a symbolic link to %s, outside its folder; copy the file instead of linking to it", target)}
}
