package lint

import (
	"errors"
	"testing"

	"github.com/fabplan/fabplan/engine"
)

func TestJSONPointerPos(t *testing.T) {
	src := []byte(`{
  "a": {"b": [10, {"c/d": true}]},
  "e~f": "x",
  "list": [
    1,
    2
  ]
}`)
	tests := []struct {
		ptr       string
		line, col int
	}{
		{"", 1, 1},
		{"/a", 2, 8},
		{"/a/b", 2, 14},
		{"/a/b/0", 2, 15},
		{"/a/b/1/c~1d", 2, 27},
		{"/e~0f", 3, 10},
		{"/list/1", 6, 5},
		{"/missing", 1, 1},
		{"/list/9", 1, 1},
	}
	for _, tt := range tests {
		if line, col := jsonPointerPos(src, tt.ptr); line != tt.line || col != tt.col {
			t.Errorf("jsonPointerPos(%q) = %d:%d, want %d:%d", tt.ptr, line, col, tt.line, tt.col)
		}
	}
}

func TestEvalFindings(t *testing.T) {
	ds := engine.Diagnostics{
		{Pos: engine.Pos{File: "p.star", Line: 2, Col: 1}, Message: "workspace.a is declared twice", Related: engine.Pos{File: "p.star", Line: 1, Col: 1}},
		{Pos: engine.Pos{File: "p.star", Line: 3, Col: 1}, Message: "dependency cycle: a -> b -> a"},
		{Pos: engine.Pos{File: "env/dev.json", Line: 1, Col: 1}, Message: "/x: bad"},
		{Pos: engine.Pos{File: "p.star", Line: 4, Col: 2}, Message: "boom"},
	}
	got := evalFindings("p.star", "dev", ds)
	want := []string{CheckEvalDuplicate, CheckEvalCycle, CheckEnvSchema, CheckEval}
	for i, f := range got {
		if f.Check != want[i] {
			t.Errorf("finding %d: %s, want %s (%s)", i, f.Check, want[i], f.Message)
		}
	}
	if got[3].Message != "boom (with env/dev.json)" {
		t.Errorf("message %q should name the environment", got[3].Message)
	}
	plain := evalFindings("p.star", "", errors.New("plan file p.star does not exist"))
	if len(plain) != 1 || plain[0].Check != CheckEval || plain[0].Line != 1 {
		t.Errorf("non-diagnostic error: %+v", plain)
	}
}
