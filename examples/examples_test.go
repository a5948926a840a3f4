// Package examples holds the CI pipeline examples (GitHub Actions, Azure DevOps); its test checks
// them: the workflows with actionlint, the Azure DevOps pipeline for the steps it needs. The fabplan
// commands they run are checked against the CLI by cmd/fabplan's TestDocCommandsParse.
package examples

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v4"
)

// lintWorkflow runs actionlint on a workflow, with shellcheck on the run: scripts when it is
// installed.
func lintWorkflow(t *testing.T, name string, content []byte) []*actionlint.Error {
	t.Helper()
	opts := &actionlint.LinterOptions{LogWriter: io.Discard}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	}
	l, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint(name, content, nil)
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

func TestGitHubWorkflowsLint(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("github-actions", "*.yml"))
	if len(files) != 2 {
		t.Fatalf("github-actions/ holds %d workflows, want pull-request.yml and deploy.yml", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range lintWorkflow(t, f, b) {
			t.Errorf("%s:%d:%d: %s [%s]", f, e.Line, e.Column, e.Message, e.Kind)
		}
	}
}

// The linter is not a formality: a workflow with a wrong permission and an unknown action input fails.
func TestActionlintCatchesMistakes(t *testing.T) {
	bad := []byte(`on: pull_request
permissions:
  id-tokens: write
jobs:
  plan:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-deep: 0
      - run: echo ${{ github.event.pull_request.numbr }}
`)
	errs := lintWorkflow(t, "bad.yml", bad)
	var kinds []string
	for _, e := range errs {
		kinds = append(kinds, e.Kind)
	}
	for _, want := range []string{"permissions", "action"} {
		if !strings.Contains(strings.Join(kinds, " "), want) {
			t.Errorf("actionlint found %v in a workflow with a %s mistake", kinds, want)
		}
	}
}

// node is a parsed YAML document, walked by key.
type node = map[string]any

func load(t *testing.T, path string) node {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n node
	if err := yaml.Unmarshal(b, &n); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

func get(n any, keys ...string) any {
	for _, k := range keys {
		m, ok := n.(node)
		if !ok {
			return nil
		}
		n = m[k]
	}
	return n
}

func list(n any) []any {
	l, _ := n.([]any)
	return l
}

func str(n any) string {
	s, _ := n.(string)
	return s
}

// findStep returns the first step whose run script (or inline script) matches re.
func findStep(steps []any, re string) node {
	for _, s := range steps {
		st, _ := s.(node)
		script := str(st["run"]) + str(st["script"]) + str(get(st, "inputs", "inlineScript"))
		if regexp.MustCompile(re).MatchString(script) {
			return st
		}
	}
	return nil
}

// usesStep returns the first step that uses an action (or an Azure DevOps task) by prefix.
func usesStep(steps []any, key, prefix string) node {
	for _, s := range steps {
		st, _ := s.(node)
		if strings.HasPrefix(str(st[key]), prefix) {
			return st
		}
	}
	return nil
}

func TestGitHubPullRequestWorkflow(t *testing.T) {
	w := load(t, filepath.Join("github-actions", "pull-request.yml"))
	if get(w, "on", "pull_request") == nil {
		t.Error("pull-request.yml does not run on pull_request")
	}
	checkState(t, "pull-request.yml", str(get(w, "env", "FABPLAN_STATE")))
	if str(get(w, "env", "FABPLAN_AUTH")) != "workload-identity" {
		t.Error("pull-request.yml: FABPLAN_AUTH is not workload-identity")
	}

	lint := list(get(w, "jobs", "lint", "steps"))
	sarifStep := findStep(lint, `fabplan lint --format sarif \S+ > \S+`)
	upload := usesStep(lint, "uses", "github/codeql-action/upload-sarif@")
	switch {
	case sarifStep == nil:
		t.Error("the lint job does not write SARIF with fabplan lint --format sarif")
	case upload == nil:
		t.Error("the lint job does not upload SARIF")
	default:
		out := regexp.MustCompile(`> (\S+)`).FindStringSubmatch(str(sarifStep["run"]))[1]
		if str(get(upload, "with", "sarif_file")) != out || str(upload["if"]) != "always()" {
			t.Errorf("upload-sarif uploads %q (if %q), want %s always", get(upload, "with", "sarif_file"), upload["if"], out)
		}
	}
	if str(get(w, "jobs", "lint", "permissions", "security-events")) != "write" {
		t.Error("the lint job lacks security-events: write for upload-sarif")
	}

	plan := get(w, "jobs", "plan")
	if str(get(plan, "permissions", "id-token")) != "write" || str(get(plan, "permissions", "pull-requests")) != "write" {
		t.Error("the plan job needs id-token: write (OIDC) and pull-requests: write (the comment)")
	}
	steps := list(get(plan, "steps"))
	if findStep(steps, `ACTIONS_ID_TOKEN_REQUEST_URL.*audience=api://AzureADTokenExchange`) == nil ||
		findStep(steps, `AZURE_FEDERATED_TOKEN_FILE=`) == nil {
		t.Error("the plan job does not put GitHub's OIDC token in AZURE_FEDERATED_TOKEN_FILE")
	}
	p := findStep(steps, `fabplan plan `)
	if p == nil {
		t.Fatal("the plan job runs no fabplan plan")
	}
	m := regexp.MustCompile(`fabplan plan .*--detailed-exitcode.* --summary (\S+)`).FindStringSubmatch(str(p["run"]))
	if m == nil {
		t.Fatalf("fabplan plan runs without --detailed-exitcode and --summary FILE: %q", p["run"])
	}
	if !strings.Contains(str(p["run"]), `[ "$code" -ne 1 ]`) {
		t.Error("the plan step fails on exit 2 (changes) or passes on 1 (error)")
	}
	comment := findStep(steps, `gh pr comment .*--body-file `+regexp.QuoteMeta(m[1]))
	if comment == nil || !strings.Contains(str(comment["if"]), "always()") {
		t.Errorf("no step comments %s on the pull request, whatever the plan's exit code", m[1])
	}
}

func TestGitHubDeployWorkflow(t *testing.T) {
	w := load(t, filepath.Join("github-actions", "deploy.yml"))
	if b := list(get(w, "on", "push", "branches")); len(b) != 1 || b[0] != "main" {
		t.Errorf("deploy.yml runs on pushes to %v, want main", b)
	}
	checkState(t, "deploy.yml", str(get(w, "env", "FABPLAN_STATE")))
	job := get(w, "jobs", "run")
	if str(get(job, "environment")) == "" {
		t.Error("the run job has no environment: nothing gates it behind an approval")
	}
	if str(get(job, "permissions", "id-token")) != "write" {
		t.Error("the run job lacks id-token: write")
	}
	steps := list(get(job, "steps"))
	if findStep(steps, `AZURE_FEDERATED_TOKEN_FILE=`) == nil {
		t.Error("the run job does not set AZURE_FEDERATED_TOKEN_FILE")
	}
	if findStep(steps, `fabplan run plans/\S+ --env \w+`) == nil {
		t.Error("the run job runs no fabplan run")
	}
}

func TestAzureDevOpsPipeline(t *testing.T) {
	p := load(t, filepath.Join("azure-devops", "azure-pipelines.yml"))
	checkState(t, "azure-pipelines.yml", str(get(p, "variables", "FABPLAN_STATE")))
	if str(get(p, "variables", "FABPLAN_AUTH")) != "azure-cli" {
		t.Error("FABPLAN_AUTH is not azure-cli: fabplan would not use the service connection's sign-in")
	}
	stages := map[string]node{}
	for _, s := range list(p["stages"]) {
		st, _ := s.(node)
		stages[str(st["stage"])] = st
	}
	steps := func(stage string) []any {
		var out []any
		for _, j := range list(get(stages[stage], "jobs")) {
			out = append(out, list(get(j, "steps"))...)
			out = append(out, list(get(j, "strategy", "runOnce", "deploy", "steps"))...)
		}
		return out
	}

	if findStep(steps("Lint"), `fabplan lint --format sarif`) == nil {
		t.Error("the Lint stage writes no SARIF")
	}
	if pub := usesStep(steps("Lint"), "artifact", "CodeAnalysisLogs"); pub == nil {
		t.Error("the Lint stage does not publish the SARIF as CodeAnalysisLogs (the Scans tab)")
	}

	if !strings.Contains(str(get(stages["Plan"], "condition")), "'PullRequest'") {
		t.Error("the Plan stage is not limited to pull requests")
	}
	plan := findStep(steps("Plan"), `fabplan plan .*--detailed-exitcode.*--summary plan.md`)
	if plan == nil || str(plan["task"]) != "AzureCLI@2" || str(get(plan, "inputs", "azureSubscription")) == "" {
		t.Error("the Plan stage has no AzureCLI@2 step (with the service connection) running fabplan plan " +
			"--detailed-exitcode --summary plan.md")
	}
	if findStep(steps("Plan"), `--rawfile body plan.md(.|\n)*pullRequests/.*/threads`) == nil {
		t.Error("the Plan stage does not post plan.md as a pull request comment")
	}

	deploy := stages["Deploy"]
	if !strings.Contains(str(deploy["condition"]), "'refs/heads/main'") {
		t.Error("the Deploy stage is not limited to main")
	}
	var env string
	for _, j := range list(deploy["jobs"]) {
		if str(get(j, "deployment")) != "" {
			env = str(get(j, "environment"))
		}
	}
	if env == "" {
		t.Error("the Deploy stage has no deployment job with an environment: nothing gates it behind an approval")
	}
	run := findStep(steps("Deploy"), `fabplan run "\$\(PLAN\)" --env`)
	if run == nil || str(run["task"]) != "AzureCLI@2" {
		t.Fatal("the Deploy stage has no AzureCLI@2 step running fabplan run")
	}
	if !strings.HasPrefix(str(get(run, "inputs", "inlineScript")), "set -eu\n") {
		t.Error("the run script does not stop at the first failure (set -e): a failed doctor would not stop the run")
	}
}

func checkState(t *testing.T, file, state string) {
	if !strings.HasPrefix(state, "azblob://") {
		t.Errorf("%s: FABPLAN_STATE %q is not remote (azblob://): runners would not share journals and locks", file, state)
	}
}
