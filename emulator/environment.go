package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// environment is an Environment's staged and published libraries and Spark compute, and its last publish.
// Staging changes only the staged side; publishing copies it to the published side.
type environment struct {
	Staged    envContent    `json:"staged"`
	Published envContent    `json:"published"`
	Previous  *envContent   `json:"previous,omitempty"` // the published side before a publish that may be cancelled
	Publish   publishRecord `json:"publish"`
}

type envContent struct {
	Libraries      []library      `json:"libraries"`
	EnvironmentYml string         `json:"environmentYml,omitempty"`
	Compute        map[string]any `json:"compute"`
}

type library struct {
	Name        string `json:"name"`
	LibraryType string `json:"libraryType"` // Custom or External
	Version     string `json:"version,omitempty"`
}

// publishRecord is the last publish of an environment: Running from Start to End, then State.
type publishRecord struct {
	TargetVersion string    `json:"targetVersion"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	State         string    `json:"state"` // Success or Cancelled
}

func defaultSparkCompute() map[string]any {
	return map[string]any{
		"instancePool":              map[string]any{"name": "Starter Pool", "type": "Workspace"},
		"driverCores":               8,
		"driverMemory":              "56g",
		"executorCores":             8,
		"executorMemory":            "56g",
		"dynamicExecutorAllocation": map[string]any{"enabled": true, "minExecutors": 1, "maxExecutors": 9},
		"sparkProperties":           []any{},
		"runtimeVersion":            "1.3",
	}
}

// env returns an environment item's state, made on first use.
func (it *item) env() *environment {
	if it.Env == nil {
		c := envContent{Libraries: []library{}, Compute: defaultSparkCompute()}
		it.Env = &environment{Staged: c.clone(), Published: c.clone(),
			Publish: publishRecord{TargetVersion: it.LogicalID, Start: it.Created, End: it.Created, State: "Success"}}
	}
	return it.Env
}

func (c envContent) clone() envContent {
	b, _ := json.Marshal(c)
	var out envContent
	json.Unmarshal(b, &out)
	return out
}

type environmentPropertiesJSON struct {
	PublishDetails publishDetailsJSON `json:"publishDetails"`
}

type publishDetailsJSON struct {
	State                string               `json:"state"`
	TargetVersion        string               `json:"targetVersion"`
	StartTime            string               `json:"startTime"`
	EndTime              string               `json:"endTime,omitempty"`
	ComponentPublishInfo componentPublishInfo `json:"componentPublishInfo"`
}

type componentPublishInfo struct {
	SparkLibraries componentState `json:"sparkLibraries"`
	SparkSettings  componentState `json:"sparkSettings"`
}

type componentState struct {
	State string `json:"state"`
}

func (e *Emulator) environmentProperties(it *item) any { return environmentPropertiesAt(it, e.now()) }

// environmentPropertiesAt is an environment's publish details as they read at now.
func environmentPropertiesAt(it *item, now time.Time) *environmentPropertiesJSON {
	p := it.env().Publish
	state, end := p.State, fabricTime(p.End)
	if now.Before(p.End) {
		state, end = "Running", ""
	}
	return &environmentPropertiesJSON{PublishDetails: publishDetailsJSON{State: state, TargetVersion: p.TargetVersion,
		StartTime: fabricTime(p.Start), EndTime: end,
		ComponentPublishInfo: componentPublishInfo{SparkLibraries: componentState{state},
			SparkSettings: componentState{state}}}}
}

// environmentItem resolves the environment of an /environments/{itemId}/... route.
func (c *call) environmentItem(min role) (*workspace, *item, error) {
	c.itemType = "Environment"
	return c.workspaceItem(min)
}

func (c *call) beta() bool { return strings.EqualFold(c.r.URL.Query().Get("beta"), "true") }

// librariesView is the GA Libraries list, or with beta=true the preview shape (custom files by kind and
// environment.yml).
func (c *call) librariesView(ec envContent) any {
	if !c.beta() {
		return map[string]any{"libraries": append([]library{}, ec.Libraries...)}
	}
	custom := map[string][]string{"wheelFiles": {}, "pyFiles": {}, "jarFiles": {}, "rTarFiles": {}}
	for _, l := range ec.Libraries {
		if l.LibraryType == "Custom" {
			custom[libraryKind(l.Name)] = append(custom[libraryKind(l.Name)], l.Name)
		}
	}
	return map[string]any{"customLibraries": custom, "environmentYml": ec.EnvironmentYml}
}

// libraryKind is the customLibraries list a file belongs in; "" for a file that is no library.
func libraryKind(name string) string {
	switch {
	case strings.HasSuffix(name, ".whl"):
		return "wheelFiles"
	case strings.HasSuffix(name, ".py"):
		return "pyFiles"
	case strings.HasSuffix(name, ".jar"):
		return "jarFiles"
	case strings.HasSuffix(name, ".tar.gz"):
		return "rTarFiles"
	}
	return ""
}

func (e *Emulator) getStagingLibraries(c *call) (*response, error) {
	_, it, err := c.environmentItem(roleViewer)
	if err != nil {
		return nil, err
	}
	return ok(c.librariesView(it.env().Staged))
}

func (e *Emulator) getPublishedLibraries(c *call) (*response, error) {
	_, it, err := c.environmentItem(roleViewer)
	if err != nil {
		return nil, err
	}
	return ok(c.librariesView(it.env().Published))
}

// pipRequirement is one "- name==version" line of an environment.yml's pip list.
var pipRequirement = regexp.MustCompile(`(?m)^\s*-\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s#]+)`)

// stageLibrary adds or replaces a staged file: a custom library, or environment.yml whose pip
// requirements become the external libraries.
func stageLibrary(ec *envContent, name string, content []byte) error {
	if name == "environment.yml" {
		ec.EnvironmentYml = string(content)
		kept := ec.Libraries[:0]
		for _, l := range ec.Libraries {
			if l.LibraryType == "Custom" {
				kept = append(kept, l)
			}
		}
		ec.Libraries = kept
		for _, m := range pipRequirement.FindAllStringSubmatch(string(content), -1) {
			ec.Libraries = append(ec.Libraries, library{Name: m[1], LibraryType: "External", Version: m[2]})
		}
		return nil
	}
	if libraryKind(name) == "" || strings.ContainsAny(name, `/\`) {
		return invalidField("file", "'"+truncate(name, 64)+
			"' is no library: custom libraries are .whl, .py, .jar or .tar.gz files")
	}
	ec.Libraries = slices.DeleteFunc(ec.Libraries, func(l library) bool {
		return l.LibraryType == "Custom" && l.Name == name
	})
	ec.Libraries = append(ec.Libraries, library{Name: name, LibraryType: "Custom"})
	return nil
}

// uploadStagingLibraries takes a multipart/form-data body of library files.
func (e *Emulator) uploadStagingLibraries(c *call) (*response, error) {
	_, it, err := c.environmentItem(roleContributor)
	if err != nil {
		return nil, err
	}
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, badRequest("InvalidRequest", "Libraries are uploaded as multipart/form-data")
	}
	staged := it.env().Staged.clone()
	mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
	files := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badRequest("InvalidRequest", "The multipart body is malformed: %v", err)
		}
		if p.FileName() == "" {
			continue
		}
		content, err := io.ReadAll(p)
		if err != nil {
			return nil, badRequest("InvalidRequest", "The multipart body is malformed: %v", err)
		}
		if err := stageLibrary(&staged, path.Base(p.FileName()), content); err != nil {
			return nil, err
		}
		files++
	}
	if files == 0 {
		return nil, invalidField("file", "no file in the upload")
	}
	it.Env.Staged = staged
	return emptyOK()
}

// uploadCustomLibrary takes one library file as the body, named by the path.
func (e *Emulator) uploadCustomLibrary(c *call) (*response, error) {
	_, it, err := c.environmentItem(roleContributor)
	if err != nil {
		return nil, err
	}
	staged := it.env().Staged.clone()
	if err := stageLibrary(&staged, c.r.PathValue("libraryName"), c.body); err != nil {
		return nil, err
	}
	it.Env.Staged = staged
	return emptyOK()
}

func (e *Emulator) deleteStagingLibrary(c *call) (*response, error) {
	_, it, err := c.environmentItem(roleContributor)
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("libraryName")
	if name == "" {
		name = c.r.URL.Query().Get("libraryToDelete")
	}
	env := it.env()
	at := slices.IndexFunc(env.Staged.Libraries, func(l library) bool { return l.Name == name })
	if at < 0 {
		return nil, notFound("EntityNotFound", "Library", name)
	}
	env.Staged.Libraries = slices.Delete(env.Staged.Libraries, at, at+1)
	return emptyOK()
}

func (e *Emulator) getSparkCompute(c *call) (*response, error) {
	_, it, err := c.environmentItem(roleViewer)
	if err != nil {
		return nil, err
	}
	side := it.env().Published
	if strings.Contains(c.r.URL.Path, "/staging/") {
		side = it.env().Staged
	}
	return ok(side.clone().Compute)
}

// updateSparkCompute merges the given settings into the staged Spark compute; a Spark property whose value
// is null is removed.
func (e *Emulator) updateSparkCompute(c *call) (*response, error) {
	_, it, err := c.environmentItem(roleContributor)
	if err != nil {
		return nil, err
	}
	var req map[string]any
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	cores := []float64{4, 8, 16, 32, 64}
	memory := []string{"28g", "56g", "112g", "224g", "400g"}
	for _, k := range []string{"driverCores", "executorCores"} {
		if v, ok := req[k]; ok {
			if f, _ := v.(float64); !slices.Contains(cores, f) {
				return nil, invalidField(k, "must be 4, 8, 16, 32 or 64")
			}
		}
	}
	for _, k := range []string{"driverMemory", "executorMemory"} {
		if v, ok := req[k]; ok {
			if s, _ := v.(string); !slices.Contains(memory, s) {
				return nil, invalidField(k, "must be 28g, 56g, 112g, 224g or 400g")
			}
		}
	}
	if v, ok := req["dynamicExecutorAllocation"]; ok {
		d, _ := v.(map[string]any)
		lo, _ := d["minExecutors"].(float64)
		hi, _ := d["maxExecutors"].(float64)
		if _, en := d["enabled"].(bool); !en || lo < 1 || hi < lo {
			return nil, invalidField("dynamicExecutorAllocation", "needs enabled, and 1 <= minExecutors <= maxExecutors")
		}
	}
	staged := it.env().Staged.clone()
	for k, v := range req {
		switch k {
		case "instancePool", "driverCores", "driverMemory", "executorCores", "executorMemory",
			"dynamicExecutorAllocation", "runtimeVersion":
			staged.Compute[k] = v
		case "sparkProperties":
			props, ok := v.([]any)
			if !ok {
				return nil, invalidField(k, "must be an array of {key, value}")
			}
			cur, _ := staged.Compute[k].([]any)
			for _, p := range props {
				kv, _ := p.(map[string]any)
				key, _ := kv["key"].(string)
				if key == "" {
					return nil, invalidField(k, "every entry needs a key")
				}
				cur = slices.DeleteFunc(cur, func(x any) bool { m, _ := x.(map[string]any); return m["key"] == key })
				if kv["value"] != nil {
					cur = append(cur, map[string]any{"key": key, "value": kv["value"]})
				}
			}
			staged.Compute[k] = cur
		}
	}
	it.Env.Staged = staged
	return ok(staged.clone().Compute)
}

// publishEnvironment publishes the staged side: the published side changes at once, publishDetails reads
// Running until the publish ends (after --lro-delay), then Success.
func (e *Emulator) publishEnvironment(c *call) (*response, error) {
	_, it, err := c.environmentItem(roleContributor)
	if err != nil {
		return nil, err
	}
	env := it.env()
	if c.now.Before(env.Publish.End) {
		return nil, badRequest("EnvironmentPublishInProgress",
			"A publish of this environment is running; wait for it or cancel it")
	}
	end := c.now.Add(e.opts.LRODelay)
	return c.finish(e.immediate("Environment") || c.beta(), http.StatusOK, func() any {
		prev := env.Published.clone()
		env.Previous = &prev
		env.Published = env.Staged.clone()
		env.Publish = publishRecord{TargetVersion: e.newID(), Start: c.now, End: end, State: "Success"}
		if c.now.Before(end) && (e.immediate("Environment") || c.beta()) {
			return environmentPropertiesAt(it, c.now) // answered at once: still running
		}
		return environmentPropertiesAt(it, end) // the operation's result is read once it ended
	})
}

func (e *Emulator) cancelPublish(c *call) (*response, error) {
	_, it, err := c.environmentItem(roleContributor)
	if err != nil {
		return nil, err
	}
	env := it.env()
	if !c.now.Before(env.Publish.End) {
		return nil, badRequest("EnvironmentNoPublishInProgress", "No publish of this environment is running")
	}
	if env.Previous != nil {
		env.Published = *env.Previous
	}
	env.Publish.End, env.Publish.State = c.now, "Cancelled"
	return ok(environmentPropertiesAt(it, c.now))
}
