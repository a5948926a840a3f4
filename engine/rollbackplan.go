package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fabplan/fabplan/engine/journal"
)

// A rollback is a plan: before undoing a run, `fabplan rollback` reads the live state of every
// object the run touched and shows, as a plan, what the undos will do. An object changed since
// the run (live state differs from the post-image its done record holds) is a conflict.

// UndoPreview is what an undo would act on, read from live state.
type UndoPreview struct {
	// Action is what the undo does to the object: Delete (undo of a create), Update (restore
	// of a pre-image) or Create (undo of a delete).
	Action Action
	Kind   string
	Exists bool
	ID     string
	// Live are the object's attributes now; Restores the ones the undo sets (Update, Create).
	Live     map[string]string
	Restores map[string]string
	// Sensitive names the attributes never to show (a definition that held secrets).
	Sensitive map[string]bool
	// DataBearing marks an object whose deletion loses data (a Lakehouse, a Warehouse, ...).
	DataBearing bool
}

// PreviewFunc reads what one undo would act on, without changing anything.
type PreviewFunc func(ctx context.Context, rt *Runtime, args json.RawMessage) (UndoPreview, error)

// PreviewRegistry maps undo ops to their previews; it is built once by the builtins package.
type PreviewRegistry map[string]PreviewFunc

// RollbackPlan is what a rollback would do.
type RollbackPlan struct {
	// Plan holds one change per undo, newest first; conflicts are left out of it unless forced.
	Plan *Plan
	// Conflicts are the objects changed since the run, with what changed.
	Conflicts []Conflict
	// Destroys are the data-bearing objects a committed run created that the rollback would
	// delete, with their data.
	Destroys []Addr
}

// Conflict is an object changed since the run; undoing it would throw away someone's change.
type Conflict struct {
	Addr Addr
	ID   string
	Why  string
	// dependent marks an object left alone only because one that depends on it is.
	dependent bool
}

// Leave maps the conflicts' steps to why they are left alone (RollbackOptions.Leave).
func (rp *RollbackPlan) Leave() map[string]string {
	m := make(map[string]string, len(rp.Conflicts))
	for _, c := range rp.Conflicts {
		m[string(c.Addr)] = c.String()
	}
	return m
}

// String says why the object is left alone.
func (c Conflict) String() string {
	if c.dependent {
		return "left alone because " + c.Why
	}
	return "changed since the run (" + c.Why + "); left alone, --force undoes it anyway"
}

// PlanRollback reads live state for every change of the run still to undo and returns what the
// rollback would do. With force, conflicts are part of the plan instead of left alone.
func PlanRollback(ctx context.Context, recs []journal.Record, rt *Runtime, previews PreviewRegistry, parallelism int, force bool) (*RollbackPlan, error) {
	post := map[string]map[string]string{}
	committed := false
	for _, r := range recs {
		switch r.Type {
		case journal.Done:
			post[r.Step] = r.Post
		case journal.Commit:
			committed = true
		}
	}
	var todo []pending
	for _, p := range pendingUndos(recs) {
		if !p.undo.IsZero() {
			todo = append(todo, p)
		}
	}
	pvs := make([]previewed, len(todo))
	errs := make([]error, len(todo))
	schedule(ctx, rt, len(todo), make([][]int, len(todo)), schedOptions{limit: parallelism, keepGoing: true},
		func(ctx context.Context, i int) error {
			pvs[i], errs[i] = previewOne(ctx, rt, previews, todo[i], post[todo[i].step])
			return nil
		})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// An object that holds, or is needed by, one left alone is left alone too: deleting the
	// workspace would delete the changed item in it.
	for changed := true; changed && !force; {
		changed = false
		for i, p := range todo {
			for k, q := range todo {
				if pvs[i].conflict == nil && pvs[k].conflict != nil && slices.Contains(q.deps, p.step) {
					pvs[i].conflict = &Conflict{Addr: Addr(p.step), ID: pvs[i].change.ID,
						Why: fmt.Sprintf("%s, which depends on it, is left alone", q.step), dependent: true}
					changed = true
				}
			}
		}
	}
	// Shown in the order the undos can run: dependents first, then by address.
	depth := make([]int, len(todo))
	index := make(map[string]int, len(todo))
	for i, p := range todo {
		index[p.step] = i
	}
	var depthOf func(i int) int
	depthOf = func(i int) int {
		if depth[i] == 0 {
			depth[i] = 1 // set before the recursion: ends it even on a (corrupt) cycle
			for _, d := range todo[i].deps {
				if k, ok := index[d]; ok {
					depth[i] = max(depth[i], 1+depthOf(k))
				}
			}
		}
		return depth[i]
	}
	order := make([]int, len(todo))
	for i := range order {
		order[i] = i
		depthOf(i)
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if depth[a] != depth[b] {
			return depth[b] - depth[a]
		}
		return strings.Compare(todo[a].step, todo[b].step)
	})
	rp := &RollbackPlan{Plan: &Plan{}}
	for _, i := range order {
		pv := pvs[i]
		ch := pv.change
		if c := pv.conflict; c != nil {
			rp.Conflicts = append(rp.Conflicts, *c)
			if !force {
				continue
			}
			ch.Reason = "changed since the run (" + c.Why + "); undone because of --force"
		}
		if pv.destroysData && committed {
			rp.Destroys = append(rp.Destroys, ch.Addr)
		}
		rp.Plan.Changes = append(rp.Plan.Changes, *ch)
	}
	return rp, nil
}

// previewed is one undo as a change, the conflict when its object changed since the run, and
// whether it deletes data.
type previewed struct {
	change       *Change
	conflict     *Conflict
	destroysData bool
}

// previewOne reads what one undo would act on.
func previewOne(ctx context.Context, rt *Runtime, previews PreviewRegistry, p pending, post map[string]string) (previewed, error) {
	ch := &Change{Addr: Addr(p.step), ID: p.id, Pos: parsePos(p.pos), Action: undoAction(p.undo)}
	fn, ok := previews[p.undo.Op]
	if p.undo.Irreversible || !ok {
		ch.Kind = strings.SplitN(p.undo.Op, ".", 2)[0]
		ch.Reason = "live state not read: undo " + p.undo.Op
		if p.undo.Irreversible {
			ch.Action, ch.Reason = NoOp, "irreversible: the change deleted data and cannot be undone"
		}
		return previewed{change: ch}, nil
	}
	pv, err := fn(ctx, rt, p.undo.Args)
	if err != nil {
		return previewed{}, fmt.Errorf("reading %s before its undo: %w", p.step, err)
	}
	ch.Kind, ch.Action = pv.Kind, pv.Action
	if pv.ID != "" {
		ch.ID = pv.ID
	}
	ch.Live = Live{Exists: pv.Exists, ID: pv.ID, Attrs: pv.Live}
	attr := func(name, old, new string) AttrChange {
		return AttrChange{Name: name, Old: old, New: new, Sensitive: pv.Sensitive[name]}
	}
	switch {
	case pv.Action == Delete && !pv.Exists, pv.Action == Create && pv.Exists:
		ch.Action, ch.Reason = NoOp, "nothing to undo: live state is already as before the run"
		return previewed{change: ch}, nil
	case pv.Action == Delete:
		for _, k := range sortedKeys(pv.Live) {
			ch.Attrs = append(ch.Attrs, attr(k, pv.Live[k], ""))
		}
		if pv.DataBearing {
			ch.Reason = "holds data: deleting it loses the data"
		}
	case pv.Action == Create:
		for _, k := range sortedKeys(pv.Restores) {
			ch.Attrs = append(ch.Attrs, attr(k, "", pv.Restores[k]))
		}
	default:
		if !pv.Exists {
			ch.Action, ch.Reason = NoOp, "the object is gone: nothing to restore"
			return previewed{change: ch}, nil
		}
		for _, k := range sortedKeys(pv.Restores) {
			ch.Attrs = append(ch.Attrs, attr(k, pv.Live[k], pv.Restores[k]))
		}
		c := Compare(ch.Attrs)
		ch.Action = c.Action
	}
	return previewed{change: ch, conflict: conflict(ch, pv, post), destroysData: ch.Action == Delete && pv.DataBearing}, nil
}

// conflict compares live state with the post-image: an attribute that differs from what the run
// left was changed by someone since.
func conflict(ch *Change, pv UndoPreview, post map[string]string) *Conflict {
	var diffs []string
	for _, k := range sortedKeys(post) {
		live, ok := pv.Live[k]
		if !ok || live == post[k] {
			continue
		}
		if pv.Sensitive[k] {
			diffs = append(diffs, k+" changed")
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s %q -> %q", k, post[k], live))
	}
	if len(diffs) == 0 {
		return nil
	}
	return &Conflict{Addr: ch.Addr, ID: ch.ID, Why: strings.Join(diffs, ", ")}
}

// undoAction guesses what an undo does from its name, for ops without a preview.
func undoAction(u journal.Undo) Action {
	switch {
	case strings.HasSuffix(u.Op, ".delete"), strings.HasSuffix(u.Op, ".disconnect"):
		return Delete
	case strings.HasSuffix(u.Op, ".recreate"):
		return Create
	}
	return Update
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parsePos reads back a journalled "file:line:col".
func parsePos(s string) Pos {
	var p Pos
	parts := strings.Split(s, ":")
	if len(parts) < 3 {
		return Pos{File: s}
	}
	p.File = strings.Join(parts[:len(parts)-2], ":")
	fmt.Sscan(parts[len(parts)-2], &p.Line)
	fmt.Sscan(parts[len(parts)-1], &p.Col)
	return p
}
