package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// PlanExt is the extension of plan and library files.
const PlanExt = ".star"

// discover expands files and directories into the plan files under them, sorted and without
// duplicates. Inside a directory it skips hidden directories and testdata (fixtures that are
// meant to fail); a path given explicitly is always taken, whatever its name.
func discover(paths []string) ([]string, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &UsageError{Msg: fmt.Sprintf("%s: no such file or directory", p)}
			}
			return nil, &UsageError{Msg: err.Error()}
		}
		if !info.IsDir() {
			files = append(files, filepath.Clean(p))
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && skipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), PlanExt) {
				files = append(files, filepath.Clean(path))
			}
			return nil
		})
		if err != nil {
			return nil, &UsageError{Msg: err.Error()}
		}
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

func skipDir(name string) bool {
	return name == "testdata" || (len(name) > 1 && strings.HasPrefix(name, "."))
}
