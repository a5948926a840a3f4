package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
)

// OutputFormat is how a Report is written (--format).
type OutputFormat string

// Output formats.
const (
	TextOutput   OutputFormat = "text"   // file:line:col: severity: message [id]
	JSONOutput   OutputFormat = "json"   // one JSON document, see jsonReport
	GitHubOutput OutputFormat = "github" // GitHub Actions workflow commands (annotations)
	SARIFOutput  OutputFormat = "sarif"  // SARIF 2.1.0, for code scanning
)

// ParseOutputFormat reads a --format value.
func ParseOutputFormat(s string) (OutputFormat, error) {
	switch f := OutputFormat(strings.ToLower(s)); f {
	case TextOutput, JSONOutput, GitHubOutput, SARIFOutput:
		return f, nil
	}
	return "", &UsageError{Msg: fmt.Sprintf("unknown --format %q: use text, json, github or sarif", s)}
}

// Write renders the report. Text and github write nothing for a clean report; json and sarif
// always write a document.
func (r Report) Write(w io.Writer, format OutputFormat) error {
	switch format {
	case TextOutput, "":
		return r.writeText(w)
	case JSONOutput:
		return writeJSON(w, r.jsonReport())
	case GitHubOutput:
		return r.writeGitHub(w)
	case SARIFOutput:
		return writeJSON(w, r.sarif())
	}
	return &UsageError{Msg: fmt.Sprintf("unknown output format %q", format)}
}

func (r Report) writeText(w io.Writer) error {
	for _, f := range r.Findings {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonReport is the --format json document. FormatVersion changes when a consumer must.
type jsonReport struct {
	FormatVersion int            `json:"format_version"`
	Files         int            `json:"files"`
	Summary       map[string]int `json:"summary"`
	Findings      []Finding      `json:"findings"`
}

func (r Report) jsonReport() jsonReport {
	out := jsonReport{FormatVersion: 1, Files: len(r.Files), Findings: []Finding{},
		Summary: map[string]int{Error.String(): 0, Warning.String(): 0, Info.String(): 0}}
	for _, f := range r.Findings {
		out.Summary[f.Severity.String()]++
		out.Findings = append(out.Findings, f)
	}
	return out
}

// writeGitHub emits workflow commands, which GitHub Actions shows as annotations on the diff.
func (r Report) writeGitHub(w io.Writer) error {
	for _, f := range r.Findings {
		cmd := map[Severity]string{Error: "error", Warning: "warning", Info: "notice"}[f.Severity]
		_, err := fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d,title=%s::%s\n", cmd,
			ghProperty(filepath.ToSlash(f.File)), f.Line, f.Col, ghProperty("fabplan lint ("+f.Check+")"), ghData(f.Message+" ["+f.Check+"]"))
		if err != nil {
			return err
		}
	}
	return nil
}

// ghData and ghProperty escape as the Actions runner unescapes (toolkit/core command.ts).
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// docsURL is where each check is documented; SARIF viewers link to it.
const docsURL = "https://github.com/fabplan/fabplan/blob/main/docs/lint.md"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool       sarifTool     `json:"tool"`
	Results    []sarifResult `json:"results"`
	ColumnKind string        `json:"columnKind"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string      `json:"id"`
	ShortDescription     sarifText   `json:"shortDescription"`
	Help                 sarifText   `json:"help"`
	HelpURI              string      `json:"helpUri"`
	DefaultConfiguration sarifConfig `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// sarif builds a SARIF 2.1.0 log. Every check is listed as a rule, so that code scanning can
// show rules with no results, and results refer to their rule by index.
func (r Report) sarif() sarifLog {
	checks := Checks()
	index := map[string]int{}
	rules := make([]sarifRule, 0, len(checks))
	for i, c := range checks {
		index[c.ID] = i
		rules = append(rules, sarifRule{ID: c.ID, ShortDescription: sarifText{c.Summary}, Help: sarifText{c.Fix},
			HelpURI: docsURL + "#" + c.ID, DefaultConfiguration: sarifConfig{sarifLevel(c.Severity)}})
	}
	results := make([]sarifResult, 0, len(r.Findings))
	for _, f := range r.Findings {
		art := sarifArtifact{URI: sarifURI(f.File)}
		if !filepath.IsAbs(f.File) {
			art.URIBaseID = "%SRCROOT%"
		}
		results = append(results, sarifResult{RuleID: f.Check, RuleIndex: index[f.Check], Level: sarifLevel(f.Severity),
			Message: sarifText{f.Message},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: art,
				Region: sarifRegion{StartLine: max(f.Line, 1), StartColumn: f.Col}}}}})
	}
	return sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []sarifRun{{Tool: sarifTool{Driver: sarifDriver{Name: "fabplan", InformationURI: docsURL, Rules: rules}},
			Results: results, ColumnKind: "unicodeCodePoints"}},
	}
}

// sarifURI turns a path into a URI reference: relative paths stay relative (to %SRCROOT%).
func sarifURI(path string) string {
	p := filepath.ToSlash(path)
	if filepath.IsAbs(path) {
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: p}).String()
}
