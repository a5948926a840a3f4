package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestScriptREADME keeps testdata/script/README's list of script commands equal to the commands
// the harness registers.
func TestScriptREADME(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "script", "README"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z-]*)( |$)`).FindAllStringSubmatch(string(b), -1) {
		listed[m[1]] = true
	}
	for name := range scriptCommands {
		if !listed[name] {
			t.Errorf("script command %q is not documented in testdata/script/README", name)
		}
		delete(listed, name)
	}
	for name := range listed {
		t.Errorf("testdata/script/README documents %q, which the harness does not register", name)
	}
}
