package secrets

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// EnvFile is a parsed .env file: KEY=VALUE lines, optional "export ", # comments, values in single
// quotes (literal) or double quotes (with \n, \t, \" and \\ escapes).
type EnvFile struct {
	Path   string
	Values map[string]string
}

// ReadEnvFile parses a .env file. Errors name the file and line, never a value.
func ReadEnvFile(path string) (*EnvFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	f := &EnvFile{Path: path, Values: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		switch {
		case strings.HasPrefix(v, "'"):
			end := strings.Index(v[1:], "'")
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: %s: unterminated single quote", path, n, k)
			}
			v = v[1 : end+1]
		case strings.HasPrefix(v, `"`):
			q, err := strconv.QuotedPrefix(v)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s: bad double-quoted value (unterminated, or an unknown escape)", path, n, k)
			}
			v, _ = strconv.Unquote(q)
		default:
			if i := strings.Index(v, " #"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			}
		}
		f.Values[k] = v
	}
	return f, sc.Err()
}
