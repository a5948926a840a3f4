package journal

import (
	"fmt"
	"strings"
)

// Target is the Fabric a run acted on: the endpoint, the Entra tenant and the identity (object id)
// that made the calls. A journal is only meaningful against its own target: on another endpoint
// every undo finds nothing (404) and would look done.
type Target struct {
	Endpoint string `json:"endpoint,omitempty"`
	Tenant   string `json:"tenant,omitempty"`
	Identity string `json:"identity,omitempty"`
}

// String is the target as `runs` shows it: host, tenant and identity.
func (t Target) String() string {
	host := strings.TrimPrefix(strings.TrimPrefix(t.Endpoint, "https://"), "http://")
	if host == "" {
		host = "unknown endpoint"
	}
	return host + " tenant " + orUnknown(t.Tenant) + " as " + orUnknown(t.Identity)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// SameFabric reports whether t and o are the same endpoint and tenant, whoever acts on them.
func (t Target) SameFabric(o Target) bool {
	return strings.EqualFold(strings.TrimRight(t.Endpoint, "/"), strings.TrimRight(o.Endpoint, "/")) &&
		strings.EqualFold(t.Tenant, o.Tenant)
}

// TargetMismatchError is a journal written against another target than the current one.
type TargetMismatchError struct {
	Run     string
	Field   string // "endpoint", "tenant" or "identity"
	Journal string // the journal's value
	Current string // the current value
}

func (e *TargetMismatchError) Error() string {
	hint := "run fabplan against the " + e.Field + " the run used, or use the state directory of this target"
	if e.Field == "identity" {
		hint = "sign in as the identity that made the run, or pass --other-identity to roll back with this one"
	}
	return fmt.Sprintf("run %s was made against %s %s, but fabplan is now using %s %s; nothing was changed\nhint: %s",
		e.Run, e.Field, e.Journal, e.Field, e.Current, hint)
}

// CheckTarget compares the target of a run (its begin record) with the current one. A journal
// written before targets were recorded (no target) passes: there is nothing to compare. With
// anyIdentity, another identity acting on the same Fabric passes.
func CheckTarget(runID string, recorded *Target, current Target, anyIdentity bool) error {
	if recorded == nil {
		return nil
	}
	r := *recorded
	switch {
	case !strings.EqualFold(strings.TrimRight(r.Endpoint, "/"), strings.TrimRight(current.Endpoint, "/")):
		return &TargetMismatchError{Run: runID, Field: "endpoint", Journal: r.Endpoint, Current: current.Endpoint}
	case !strings.EqualFold(r.Tenant, current.Tenant):
		return &TargetMismatchError{Run: runID, Field: "tenant", Journal: r.Tenant, Current: current.Tenant}
	case !anyIdentity && !strings.EqualFold(r.Identity, current.Identity):
		return &TargetMismatchError{Run: runID, Field: "identity", Journal: r.Identity, Current: current.Identity}
	}
	return nil
}

// RollbackOutcome is what one rollback attempt achieved, as rollback_end records it.
type RollbackOutcome struct {
	Undone    int `json:"undone"`              // changes reversed by this attempt
	Left      int `json:"left"`                // changes still in effect (or maybe in effect) after it
	Conflicts int `json:"conflicts,omitempty"` // left alone because they changed since the run
}
