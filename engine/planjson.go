package engine

// This file is the plan as a versioned JSON document: what `fabplan plan --json` prints, what
// `--out` saves, what `run --plan` reads back, and what the text renderer draws. The format is
// documented, with its JSON Schema, in docs/plan-json.md.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// FormatVersion is the version of the document. A new field bumps the minor number; a changed or
// removed field bumps the major number, and readers refuse a major they do not know.
const FormatVersion = "1.2"

// Document is a plan as data.
type Document struct {
	FormatVersion  string `json:"format_version"`
	FabplanVersion string `json:"fabplan_version,omitempty"`
	// Source is what the plan was computed from; `run --plan` evaluates it again.
	Source    Source         `json:"source"`
	Changes   []DocChange    `json:"resource_changes"`
	Unmanaged []DocUnmanaged `json:"unmanaged"`
	Summary   Summary        `json:"summary"`
}

// Source is the plan file and the inputs of its evaluation.
type Source struct {
	File    string            `json:"file"`
	Env     string            `json:"env,omitempty"`
	EnvDir  string            `json:"env_dir,omitempty"`
	Vars    map[string]string `json:"vars,omitempty"`
	Targets []Addr            `json:"targets,omitempty"`
}

// DocChange is one resource's change.
type DocChange struct {
	Address Addr   `json:"address"`
	Kind    string `json:"kind"`
	Action  Action `json:"action"`
	Pos     *Pos   `json:"pos,omitempty"`
	ID      string `json:"id,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// DependsOn are the addresses applied before this one.
	DependsOn []Addr `json:"depends_on,omitempty"`
	// Lookup is how a read-only lookup (fabric.lookup.*) found its object (format 1.2).
	Lookup     *Lookup   `json:"lookup,omitempty"`
	Attributes []DocAttr `json:"attributes"`
	LiveDigest string    `json:"live_digest"`
}

// DocAttr is one attribute. Old is absent when there is no live value (create), New when the
// value will not exist (delete) or is known only after apply (Unknown); both are absent for a
// sensitive attribute, which is never written.
type DocAttr struct {
	Name          string  `json:"name"`
	Old           *string `json:"old,omitempty"`
	New           *string `json:"new,omitempty"`
	Changed       bool    `json:"changed"`
	Unknown       bool    `json:"unknown,omitempty"`
	Sensitive     bool    `json:"sensitive,omitempty"`
	ForcesReplace bool    `json:"forces_replace,omitempty"`
	// Ignored marks drift kept by ignore_changes: old and new are the live value.
	Ignored bool       `json:"ignored,omitempty"`
	Parts   []PartDiff `json:"parts,omitempty"`
}

// DocUnmanaged is a live object in a managed workspace that the plan does not declare.
type DocUnmanaged struct {
	Address   Addr   `json:"address"`
	Workspace Addr   `json:"workspace"`
	Kind      string `json:"kind"`
	Type      string `json:"type,omitempty"`
	Name      string `json:"name"`
	ID        string `json:"id"`
	// Reason says why prune leaves it (format 1.1).
	Reason string `json:"reason,omitempty"`
}

// Summary counts the changes by action.
type Summary struct {
	Add        int  `json:"add"`
	Change     int  `json:"change"`
	Replace    int  `json:"replace"`
	Destroy    int  `json:"destroy"`
	Read       int  `json:"read"`
	NoOp       int  `json:"no_op"`
	Unmanaged  int  `json:"unmanaged"`
	HasChanges bool `json:"has_changes"`
}

// NewDocument describes a plan. Sensitive values are left out here, once, so that no output
// built from the document can show them.
func NewDocument(p *Plan, src Source, version string) *Document {
	d := &Document{FormatVersion: FormatVersion, FabplanVersion: version, Source: src,
		Changes: make([]DocChange, 0, len(p.Changes)), Unmanaged: []DocUnmanaged{}}
	for _, c := range p.Changes {
		dc := DocChange{Address: c.Addr, Kind: c.Kind, Action: c.Action, ID: c.ID, Reason: c.Reason,
			DependsOn: c.Deps, Lookup: c.Lookup, Attributes: make([]DocAttr, 0, len(c.Attrs)), LiveDigest: LiveDigest(c.Live, sensitiveAttrs(c.Attrs))}
		if c.Pos.IsValid() {
			pos := c.Pos
			dc.Pos = &pos
		}
		for _, a := range c.Attrs {
			dc.Attributes = append(dc.Attributes, docAttr(c.Action, a))
		}
		d.Changes = append(d.Changes, dc)
		switch c.Action {
		case Create:
			d.Summary.Add++
		case Update:
			d.Summary.Change++
		case Replace:
			d.Summary.Replace++
		case Delete:
			d.Summary.Destroy++
		case Read:
			d.Summary.Read++
		case NoOp:
			d.Summary.NoOp++
		}
	}
	for _, u := range p.Unmanaged {
		d.Unmanaged = append(d.Unmanaged, DocUnmanaged{Address: u.Addr, Workspace: u.Workspace, Kind: u.Kind, Type: u.Type, Name: u.Name, ID: u.ID, Reason: u.Reason})
	}
	d.Summary.Unmanaged = len(d.Unmanaged)
	d.Summary.HasChanges = p.HasChanges()
	return d
}

func docAttr(action Action, a AttrChange) DocAttr {
	da := DocAttr{Name: a.Name, Unknown: a.Unknown, Sensitive: a.Sensitive, ForcesReplace: a.ForcesReplace, Ignored: a.Ignored,
		Parts: a.Parts}
	switch action {
	case Create:
		da.Changed = true
	case Delete:
		da.Changed = true
	case Read, NoOp:
	default:
		da.Changed = a.Changed()
	}
	if a.Sensitive {
		// Parts carry diffs and hashes of the payloads, which would show what the value hides.
		da.Parts = nil
		return da
	}
	if action != Create {
		old := a.Old
		da.Old = &old
	}
	if action != Delete && !a.Unknown {
		n := a.New
		da.New = &n
	}
	return da
}

// LiveDigest summarizes the live state a change was computed from: whether the object exists,
// its id and its attributes, except the sensitive ones. `run --plan` compares digests to find
// what changed since the plan.
//
// A sensitive attribute's live value (a definition with a secret in it) is left out: the plan
// file would otherwise hold a hash of it, against which secret guesses could be checked
// offline. Nothing a reviewer saw is lost: the plan showed it only as (sensitive), and a drift
// that changes the action still makes the saved plan stale.
func LiveDigest(l Live, sensitive map[string]bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "%t\x00%s\x00", l.Exists, l.ID)
	keys := make([]string, 0, len(l.Attrs))
	for k := range l.Attrs {
		if sensitive[k] {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, l.Attrs[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// sensitiveAttrs names the attributes of a change that are sensitive.
func sensitiveAttrs(attrs []AttrChange) map[string]bool {
	var m map[string]bool
	for _, a := range attrs {
		if a.Sensitive {
			if m == nil {
				m = map[string]bool{}
			}
			m[a.Name] = true
		}
	}
	return m
}

// Write encodes the document as indented JSON.
func (d *Document) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// ReadDocument decodes a saved plan, refusing a format this fabplan does not know.
func ReadDocument(r io.Reader) (*Document, error) {
	var d Document
	dec := json.NewDecoder(r)
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("not a fabplan plan: %v", err)
	}
	major, _, _ := strings.Cut(d.FormatVersion, ".")
	if want, _, _ := strings.Cut(FormatVersion, "."); major != want {
		if d.FormatVersion == "" {
			return nil, fmt.Errorf("not a fabplan plan: format_version is missing")
		}
		return nil, fmt.Errorf("plan format %s is not supported by this fabplan (it reads %s.x); make the plan again with this version", d.FormatVersion, want)
	}
	return &d, nil
}

// StaleError is a saved plan that no longer matches the plan computed now.
type StaleError struct {
	Problems []StaleResource
}

// StaleResource is one resource whose saved change differs from its change now.
type StaleResource struct {
	Addr Addr
	Why  string
}

func (e *StaleError) Error() string {
	var b strings.Builder
	b.WriteString("the saved plan is stale; nothing was changed. Make it again with fabplan plan --out:")
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Addr, p.Why)
	}
	return b.String()
}

// CheckCurrent compares a saved plan with the document computed now from the same source and
// reports every resource whose live state or planned change differs.
func (d *Document) CheckCurrent(now *Document) error {
	saved := make(map[Addr]*DocChange, len(d.Changes))
	for i := range d.Changes {
		saved[d.Changes[i].Address] = &d.Changes[i]
	}
	var probs []StaleResource
	seen := map[Addr]bool{}
	for i := range now.Changes {
		c := &now.Changes[i]
		seen[c.Address] = true
		s, ok := saved[c.Address]
		if !ok {
			why := "the plan declares it now but did not when the plan was saved"
			if c.Action == Delete {
				why = "prune would delete it now, but the saved plan does not"
			}
			probs = append(probs, StaleResource{c.Address, why})
			continue
		}
		if why := s.differs(c); why != "" {
			probs = append(probs, StaleResource{c.Address, why})
		}
	}
	for _, s := range d.Changes {
		if !seen[s.Address] {
			why := "the saved plan holds it but the plan no longer declares it"
			if s.Action == Delete {
				why = "the saved plan deletes it, but prune would not now (it is gone, or declared again)"
			}
			probs = append(probs, StaleResource{s.Address, why})
		}
	}
	if len(probs) > 0 {
		return &StaleError{Problems: probs}
	}
	return nil
}

// differs says how the saved change s differs from the change now, or "" when it does not.
func (s *DocChange) differs(now *DocChange) string {
	if s.LiveDigest != now.LiveDigest {
		switch {
		case s.Action == Create && now.Action != Create:
			return "it exists now but did not when the plan was made"
		case s.Action != Create && now.Action == Create:
			return "it existed when the plan was made but is gone now"
		}
		for _, a := range now.Attributes {
			if sa, ok := s.attr(a.Name); ok && !a.Sensitive && !sameValue(sa.Old, a.Old) {
				return fmt.Sprintf("live %s changed since the plan was made: %s -> %s", a.Name, show(sa.Old), show(a.Old))
			}
		}
		return "live state changed since the plan was made"
	}
	for _, a := range now.Attributes {
		if sa, ok := s.attr(a.Name); ok && (!sameValue(sa.New, a.New) || sa.Unknown != a.Unknown) {
			return fmt.Sprintf("planned %s changed since the plan was saved: %s -> %s", a.Name, show(sa.New), show(a.New))
		}
	}
	if len(s.Attributes) != len(now.Attributes) {
		return "its planned attributes changed since the plan was saved"
	}
	if s.Action != now.Action {
		return fmt.Sprintf("the saved plan would %s it, the plan now would %s it", verb(s.Action), verb(now.Action))
	}
	return ""
}

func verb(a Action) string {
	if a == NoOp {
		return "leave"
	}
	return a.String()
}

func (s *DocChange) attr(name string) (DocAttr, bool) {
	for _, a := range s.Attributes {
		if a.Name == name {
			return a, true
		}
	}
	return DocAttr{}, false
}

func sameValue(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func show(v *string) string {
	if v == nil {
		return "(none)"
	}
	return fmt.Sprintf("%q", *v)
}
