package builtins

import (
	"maps"
	"strings"
	"testing"
)

func TestVarNamesMatchPropertiesWithoutCase(t *testing.T) {
	sch, err := compileSchema("s.json", []byte(`{"properties": {"capacity": {}, "tier": {}, "Region": {}, "region": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		vars map[string]string
		want map[string]string
		err  string
	}{
		{"upper-cased by the pipeline", map[string]string{"CAPACITY": "F2"}, map[string]string{"capacity": "F2"}, ""},
		{"exact beats another case", map[string]string{"CAPACITY": "F2", "capacity": "F4"}, map[string]string{"capacity": "F4"}, ""},
		{"exact first beats another case", map[string]string{"capacity": "F4", "Capacity": "F2"},
			map[string]string{"capacity": "F4"}, ""},
		{"unknown names stay as they are", map[string]string{"OTHER": "x"}, map[string]string{"OTHER": "x"}, ""},
		{"exact match of a case-ambiguous pair", map[string]string{"region": "x"}, map[string]string{"region": "x"}, ""},
		{"ambiguous", map[string]string{"REGION": "x"}, nil, "variable REGION matches properties Region and region"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := varNames(tc.vars, sch)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("varNames = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
