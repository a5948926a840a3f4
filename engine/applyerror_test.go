package engine

import (
	"errors"
	"strings"
	"testing"
)

// The rollback count is every undone line: applied changes and unfinished ones reconciled alike.
func TestApplyErrorCountsEveryUndo(t *testing.T) {
	e := &ApplyError{Steps: []error{errors.New("boom")}, Rollback: &RollbackResult{Total: 5, Undone: 4, Reconciled: 1}}
	want := "rolled back 5 change(s) (5 of 5 undone, 1 of them unfinished when the run stopped); live state is as before the run"
	if !strings.Contains(e.Error(), want) {
		t.Errorf("error:\n%s\nwant %q", e.Error(), want)
	}
}
