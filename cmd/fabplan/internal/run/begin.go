package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
)

// BeginRecord is the first record of a run's journal: what it runs (plan, its digest, the Git
// commit), with which inputs (env, a digest of the variables) and against what (target).
func BeginRecord(ctx context.Context, planFile, version string, eo builtins.EvalOptions, g *engine.Graph, target journal.Target) journal.Record {
	return journal.Record{Plan: planFile, Version: version, Target: &target, Env: eo.Env,
		VarsDigest: VarsDigest(eo.Vars), PlanDigest: PlanDigest(g.Files), VCSCommit: vcsCommit(ctx, planFile)}
}

// VarsDigest summarizes variable overrides ("" for none); the values themselves are not kept.
func VarsDigest(vars map[string]string) string {
	if len(vars) == 0 {
		return ""
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, vars[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// PlanDigest summarizes the plan's Starlark files (the entry plan and what it loads).
func PlanDigest(files []string) string {
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(f), len(b))
		h.Write(b)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// vcsCommit is the Git commit the plan file is checked out at, or "" outside a Git checkout (or
// without git installed).
func vcsCommit(ctx context.Context, planFile string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", filepath.Dir(planFile), "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
