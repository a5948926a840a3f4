package engine

// This file compares item definitions part by part, after normalization, for plans and diffs.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"

	"github.com/fabplan/fabplan/fabric"
)

// PlatformPart is the part Fabric generates for every definition (type, display name, logicalId).
// Definitions are compared without it: name and description are attributes of their own, the
// logicalId is assigned by Fabric, and fabplan never sends it (updateMetadata stays false).
const PlatformPart = ".platform"

// PartDiff is how one definition part differs between live state and the plan.
type PartDiff struct {
	Path string `json:"path"`
	// Action is Create (only in the plan), Delete (only live), Update or NoOp.
	Action Action `json:"action"`
	// Binary parts are compared by size and hash only.
	Binary bool `json:"binary,omitempty"`
	// Old and New describe the normalized payloads; nil where the part is absent.
	Old *PartInfo `json:"old,omitempty"`
	New *PartInfo `json:"new,omitempty"`
	// Diff is the unified diff of the normalized text (live -> plan) when a text part changed.
	Diff string `json:"diff,omitempty"`
}

// PartInfo identifies a normalized payload.
type PartInfo struct {
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

func partInfo(b []byte) *PartInfo {
	sum := sha256.Sum256(b)
	return &PartInfo{Size: len(b), SHA256: hex.EncodeToString(sum[:])}
}

// jsonPart reports whether a part's payload is JSON in Fabric's formats, by its extension.
func jsonPart(p string) bool {
	switch path.Ext(p) {
	case ".json", ".ipynb", ".pbir", ".pbism", ".bim", ".platform":
		return true
	}
	return path.Base(p) == PlatformPart
}

// serverManaged lists, for a part file name, the JSON members Fabric writes itself; they change
// without anyone editing the definition, so they are never a difference.
func serverManaged(base string) [][]string {
	switch base {
	case "pipeline-content.json":
		return [][]string{{"properties", "lastModifiedByObjectId"}, {"properties", "lastPublishTime"}}
	case PlatformPart:
		return [][]string{{"config", "logicalId"}}
	}
	return nil
}

// NormalizePart returns the form of a part that comparisons use: JSON parsed and re-encoded with
// sorted keys and two-space indentation (so that key order and whitespace are no change, and diffs
// stay line by line) without server-managed members; text with LF line endings; anything else as is.
func NormalizePart(p string, payload []byte) []byte {
	if isBinary(payload) {
		return payload
	}
	text := bytes.ReplaceAll(payload, []byte("\r\n"), []byte("\n"))
	if !jsonPart(p) {
		return text
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return text
	}
	for _, member := range serverManaged(path.Base(p)) {
		deleteMember(v, member)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return text
	}
	return out.Bytes()
}

func deleteMember(v any, member []string) {
	for i, key := range member {
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		if i == len(member)-1 {
			delete(obj, key)
			return
		}
		v = obj[key]
	}
}

// isBinary reports whether a payload is not text: invalid UTF-8 or a NUL byte.
func isBinary(b []byte) bool { return !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 }

// DefinitionDigest summarizes a definition's normalized parts, .platform excluded: two
// definitions with the same digest are the same definition.
func DefinitionDigest(parts []fabric.Part) string {
	h := sha256.New()
	for _, p := range sortedParts(parts) {
		if p.Path == PlatformPart {
			continue
		}
		n := NormalizePart(p.Path, p.Payload)
		fmt.Fprintf(h, "%s\x00%d\x00", p.Path, len(n))
		h.Write(n)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:12]
}

func sortedParts(parts []fabric.Part) []fabric.Part {
	out := slices.Clone(parts)
	slices.SortFunc(out, func(a, b fabric.Part) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// PlannedParts describes the parts of a definition that will be created with its item: sizes and
// hashes, no text (the whole part would be the diff).
func PlannedParts(plan []fabric.Part) []PartDiff {
	var out []PartDiff
	for _, p := range sortedParts(plan) {
		if p.Path == PlatformPart {
			continue
		}
		n := NormalizePart(p.Path, p.Payload)
		out = append(out, PartDiff{Path: p.Path, Action: Create, Binary: isBinary(n), New: partInfo(n)})
	}
	return out
}

// DiffParts compares the live parts of an existing item's definition with the plan's, part by
// part, after normalization; .platform is left out (see PlatformPart). The result is sorted by
// path and holds every part, unchanged ones as NoOp.
func DiffParts(live, plan []fabric.Part) []PartDiff {
	old := map[string][]byte{}
	for _, p := range live {
		if p.Path != PlatformPart {
			old[p.Path] = NormalizePart(p.Path, p.Payload)
		}
	}
	want := map[string][]byte{}
	for _, p := range plan {
		if p.Path != PlatformPart {
			want[p.Path] = NormalizePart(p.Path, p.Payload)
		}
	}
	var paths []string
	for p := range old {
		paths = append(paths, p)
	}
	for p := range want {
		if _, ok := old[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	out := make([]PartDiff, 0, len(paths))
	for _, p := range paths {
		o, inOld := old[p]
		n, inNew := want[p]
		d := PartDiff{Path: p}
		if inOld {
			d.Old = partInfo(o)
		}
		if inNew {
			d.New = partInfo(n)
		}
		d.Binary = (inOld && isBinary(o)) || (inNew && isBinary(n))
		switch {
		case !inOld:
			d.Action = Create
		case !inNew:
			d.Action = Delete
		case bytes.Equal(o, n):
			d.Action = NoOp
		default:
			d.Action = Update
		}
		if d.Action != NoOp && !d.Binary {
			d.Diff = udiff.Unified("live/"+p, "plan/"+p, string(o), string(n))
		}
		out = append(out, d)
	}
	return out
}
