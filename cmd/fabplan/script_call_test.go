package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/fabplan/fabplan/emulator"
)

// emulatorCall is the script command
//
//	emulator-call METHOD PATH [BODY]
//
// It sends one authenticated Fabric call to the script's emulator as the seeded service principal,
// as someone working in the portal or with another tool would: scripts use it to make drift. In
// PATH, {workspace:NAME}, {item:WORKSPACE/TYPE/NAME} and {schedule:WORKSPACE/TYPE/NAME/JOBTYPE}
// stand for ids, looked up by name (a schedule: the item's first of the job); in
// BODY, {base64:FILE} stands for the base64 of a file of the script. A 202 is followed to the end
// of its operation. The response body goes to stdout; a status of 400 or more fails the command
// (expected with !).
func emulatorCall(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: emulator-call METHOD PATH [BODY]")
	}
	emu := emulatorOf(ts)
	c := &fabricCaller{emu: emu, hc: emu.HTTPClient()}
	ts.Check(c.authenticate())
	path, err := c.resolve(args[1])
	ts.Check(err)
	var body []byte
	if len(args) == 3 {
		body, err = expandFiles(ts, args[2])
		ts.Check(err)
	}
	status, resp, err := c.do(args[0], path, body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s", resp)
	switch failed := status >= 400; {
	case failed && !neg:
		ts.Fatalf("%s %s: HTTP %d", args[0], path, status)
	case !failed && neg:
		ts.Fatalf("%s %s: HTTP %d, want a failure", args[0], path, status)
	}
}

var base64File = regexp.MustCompile(`\{base64:([^}]+)\}`)

func expandFiles(ts *testscript.TestScript, body string) ([]byte, error) {
	var ferr error
	out := base64File.ReplaceAllStringFunc(body, func(m string) string {
		b, err := os.ReadFile(ts.MkAbs(base64File.FindStringSubmatch(m)[1]))
		if err != nil {
			ferr = err
		}
		return base64.StdEncoding.EncodeToString(b)
	})
	return []byte(out), ferr
}

// fabricCaller sends Fabric calls to an emulator with a client-credentials token.
type fabricCaller struct {
	emu   *emulator.Emulator
	hc    *http.Client
	token string
}

func (c *fabricCaller) authenticate() error {
	id, secret := c.emu.ServicePrincipal()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"scope": {"https://api.fabric.microsoft.com/.default"}}
	resp, err := c.hc.PostForm(c.emu.AuthorityHost()+c.emu.TenantID()+"/oauth2/v2.0/token", form)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return fmt.Errorf("token request: HTTP %d %v", resp.StatusCode, err)
	}
	c.token = tok.AccessToken
	return nil
}

func (c *fabricCaller) do(method, path string, body []byte) (int, []byte, error) {
	u := path
	if !strings.HasPrefix(u, "https://") {
		u = c.emu.FabricURL() + path
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode == http.StatusAccepted && resp.Header.Get("Location") != "" {
		return c.await(resp.Header.Get("Location"))
	}
	return resp.StatusCode, b, nil
}

// await polls an operation until it ends. The emulator's operations end on the first poll unless
// a script asks for a delay, so it polls without honouring Retry-After.
func (c *fabricCaller) await(location string) (int, []byte, error) {
	for range 200 {
		status, b, err := c.do(http.MethodGet, location, nil)
		if err != nil || status != http.StatusOK {
			return status, b, err
		}
		var op struct{ Status string }
		if err := json.Unmarshal(b, &op); err != nil {
			return 0, nil, err
		}
		switch op.Status {
		case "Succeeded":
			return status, b, nil
		case "Failed":
			return http.StatusBadRequest, b, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, nil, fmt.Errorf("operation %s did not end", location)
}

var placeholder = regexp.MustCompile(`\{(workspace|item|schedule):([^}]+)\}`)

// resolve replaces {workspace:NAME}, {item:WORKSPACE/TYPE/NAME} and
// {schedule:WORKSPACE/TYPE/NAME/JOBTYPE} (the item's first listed schedule of the job) by ids.
func (c *fabricCaller) resolve(path string) (string, error) {
	var rerr error
	out := placeholder.ReplaceAllStringFunc(path, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		var id string
		var err error
		if sub[1] == "workspace" {
			id, err = c.workspaceID(sub[2])
		} else {
			ws, rest, _ := strings.Cut(sub[2], "/")
			typ, name, _ := strings.Cut(rest, "/")
			name, jobType, _ := strings.Cut(name, "/")
			id, err = c.itemID(ws, typ, name)
			if err == nil && sub[1] == "schedule" {
				id, err = c.scheduleID(ws, id, jobType)
			}
		}
		if err != nil && rerr == nil {
			rerr = err
		}
		return id
	})
	return out, rerr
}

func (c *fabricCaller) list(path string) ([]map[string]any, error) {
	var all []map[string]any
	for path != "" {
		status, b, err := c.do(http.MethodGet, path, nil)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("GET %s: HTTP %d: %s", path, status, b)
		}
		var page struct {
			Value           []map[string]any `json:"value"`
			ContinuationURI string           `json:"continuationUri"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
		path = page.ContinuationURI
	}
	return all, nil
}

func (c *fabricCaller) workspaceID(name string) (string, error) {
	all, err := c.list("/v1/workspaces")
	if err != nil {
		return "", err
	}
	for _, ws := range all {
		if ws["displayName"] == name {
			return ws["id"].(string), nil
		}
	}
	return "", fmt.Errorf("no workspace named %q", name)
}

func (c *fabricCaller) scheduleID(workspace, itemID, jobType string) (string, error) {
	wsID, err := c.workspaceID(workspace)
	if err != nil {
		return "", err
	}
	all, err := c.list("/v1/workspaces/" + wsID + "/items/" + itemID + "/jobs/" + jobType + "/schedules")
	if err != nil {
		return "", err
	}
	if len(all) == 0 {
		return "", fmt.Errorf("item %s has no %s schedule", itemID, jobType)
	}
	return all[0]["id"].(string), nil
}

func (c *fabricCaller) itemID(workspace, typ, name string) (string, error) {
	wsID, err := c.workspaceID(workspace)
	if err != nil {
		return "", err
	}
	all, err := c.list("/v1/workspaces/" + wsID + "/items")
	if err != nil {
		return "", err
	}
	for _, it := range all {
		if it["type"] == typ && it["displayName"] == name {
			return it["id"].(string), nil
		}
	}
	return "", fmt.Errorf("no %s named %q in workspace %q", typ, name, workspace)
}
