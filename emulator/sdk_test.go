package emulator

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/microsoft/fabric-sdk-go/fabric"
	"github.com/microsoft/fabric-sdk-go/fabric/core"
	"github.com/microsoft/fabric-sdk-go/fabric/notebook"
)

// start runs an emulator for one test and closes it at the end.
func start(t testing.TB, opts Options) *Emulator {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	e, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// credential is the real azidentity client-secret credential pointed at the emulator's Entra.
func credential(t testing.TB, e *Emulator, clientID, secret string) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(e.TenantID(), clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: e.AuthorityHost()},
			Transport: e.HTTPClient(),
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatalf("credential: %v", err)
	}
	return cred
}

// sdk returns fabric-sdk-go's core client factory for the seeded service principal, with azcore's retries off
// so that injected faults reach the test.
func sdk(t testing.TB, e *Emulator) *core.ClientFactory {
	t.Helper()
	id, secret := e.ServicePrincipal()
	return sdkAs(t, e, credential(t, e, id, secret))
}

func sdkAs(t testing.TB, e *Emulator, cred azcore.TokenCredential) *core.ClientFactory {
	t.Helper()
	f, err := core.NewClientFactory(cred, to.Ptr(e.URL()), &fabric.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: checkedClient(t, e),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}})
	if err != nil {
		t.Fatalf("client factory: %v", err)
	}
	return f
}

func responseError(t testing.TB, err error) *core.ResponseError {
	t.Helper()
	var re *core.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want *core.ResponseError, got %T: %v", err, err)
	}
	return re
}

func TestSDKWorkspaceItemLifecycle(t *testing.T) {
	t.Parallel() // waits out a Retry-After
	e := start(t, Options{PageSize: 2, ImmediateTypes: []string{"DataPipeline"}})
	ctx := context.Background()
	f := sdk(t, e)
	ws := f.NewWorkspacesClient()

	created, err := ws.CreateWorkspace(ctx, core.CreateWorkspaceRequest{DisplayName: to.Ptr("sales"), Description: to.Ptr("Sales team")}, nil)
	if err != nil {
		t.Fatalf("CreateWorkspace: %v", err)
	}
	wsID := *created.ID
	if *created.DisplayName != "sales" || *created.Type != core.WorkspaceTypeWorkspace {
		t.Errorf("created workspace = %+v", created.Workspace)
	}

	_, err = ws.CreateWorkspace(ctx, core.CreateWorkspaceRequest{DisplayName: to.Ptr("SALES")}, nil)
	if re := responseError(t, err); re.StatusCode != http.StatusConflict || re.ErrorCode != "WorkspaceNameAlreadyExists" {
		t.Errorf("duplicate workspace: %d %s", re.StatusCode, re.ErrorCode)
	}

	got, err := ws.GetWorkspace(ctx, wsID, nil)
	if err != nil {
		t.Fatalf("GetWorkspace: %v", err)
	}
	if got.CapacityAssignmentProgress == nil || got.Type == nil {
		t.Errorf("GetWorkspace lacks type or capacityAssignmentProgress: %+v", got.WorkspaceInfo)
	}

	items := f.NewItemsClient()
	nb := base64.StdEncoding.EncodeToString([]byte("# Fabric notebook source\nprint('hi')\n"))
	poller, err := items.BeginCreateItem(ctx, wsID, core.CreateItemRequest{
		DisplayName: to.Ptr("etl"),
		Type:        to.Ptr(core.ItemTypeNotebook),
		Definition: &core.ItemDefinition{Parts: []core.ItemDefinitionPart{{
			Path: to.Ptr("notebook-content.py"), Payload: to.Ptr(nb), PayloadType: to.Ptr(core.PayloadTypeInlineBase64)}}},
	}, nil)
	if err != nil {
		t.Fatalf("BeginCreateItem: %v", err)
	}
	res, err := poller.PollUntilDone(ctx, &runtimePollOptions)
	if err != nil {
		t.Fatalf("PollUntilDone: %v", err)
	}
	if res.ID == nil || *res.DisplayName != "etl" || *res.WorkspaceID != wsID {
		t.Fatalf("created item = %+v", res.Item)
	}

	defPoller, err := items.BeginGetItemDefinition(ctx, wsID, *res.ID, nil)
	if err != nil {
		t.Fatalf("BeginGetItemDefinition: %v", err)
	}
	def, err := defPoller.PollUntilDone(ctx, &runtimePollOptions)
	if err != nil {
		t.Fatalf("getDefinition: %v", err)
	}
	var paths []string
	for _, p := range def.Definition.Parts {
		paths = append(paths, *p.Path)
		if *p.Path == "notebook-content.py" && *p.Payload != nb {
			t.Errorf("payload changed: %s", *p.Payload)
		}
	}
	if strings.Join(paths, ",") != "notebook-content.py,.platform" {
		t.Errorf("definition parts = %v", paths)
	}

	for i := range 4 {
		p, err := items.BeginCreateItem(ctx, wsID, core.CreateItemRequest{
			DisplayName: to.Ptr(fmt.Sprintf("pipe%d", i)), Type: to.Ptr(core.ItemTypeDataPipeline)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(ctx, &runtimePollOptions); err != nil {
			t.Fatal(err)
		}
	}
	pager := items.NewListItemsPager(wsID, nil)
	var names []string
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list items: %v", err)
		}
		pages++
		for _, it := range page.Value {
			names = append(names, *it.DisplayName)
		}
	}
	if want := "etl,pipe0,pipe1,pipe2,pipe3"; strings.Join(names, ",") != want || pages != 3 {
		t.Errorf("listed %v in %d pages, want %s in 3", names, pages, want)
	}
	all, err := items.ListItems(ctx, wsID, &core.ItemsClientListItemsOptions{Type: to.Ptr(string(core.ItemTypeNotebook))})
	if err != nil || len(all) != 1 {
		t.Errorf("ListItems(type=Notebook) = %d items, %v", len(all), err)
	}

	if _, err := items.DeleteItem(ctx, wsID, *res.ID, nil); err != nil {
		t.Fatalf("DeleteItem: %v", err)
	}
	_, err = items.GetItem(ctx, wsID, *res.ID, nil)
	if re := responseError(t, err); re.StatusCode != 404 || re.ErrorCode != "ItemNotFound" {
		t.Errorf("get deleted item: %d %s", re.StatusCode, re.ErrorCode)
	}
	if _, err := ws.DeleteWorkspace(ctx, wsID, nil); err != nil {
		t.Fatalf("DeleteWorkspace: %v", err)
	}
}

func TestSDKListWorkspacesPages(t *testing.T) {
	e := start(t, Options{PageSize: 2})
	ctx := context.Background()
	ws := sdk(t, e).NewWorkspacesClient()
	for i := range 5 {
		if _, err := ws.CreateWorkspace(ctx, core.CreateWorkspaceRequest{DisplayName: to.Ptr(fmt.Sprintf("ws%d", i))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	all, err := ws.ListWorkspaces(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("listed %d workspaces, want 5", len(all))
	}
	listCalls := 0
	for _, r := range e.Requests() {
		if r.Method == "GET" && r.Path == "/v1/workspaces" {
			listCalls++
			if r.Status != 200 {
				t.Errorf("list call status %d", r.Status)
			}
		}
	}
	if listCalls != 3 {
		t.Errorf("%d list calls, want 3 pages", listCalls)
	}
}

func TestSDKWrongSecret(t *testing.T) {
	e := start(t, Options{})
	id, _ := e.ServicePrincipal()
	ws := sdkAs(t, e, credential(t, e, id, "wrong")).NewWorkspacesClient()
	_, err := ws.ListWorkspaces(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("want AADSTS7000215, got %v", err)
	}
}

func TestSDKFaultRuleAnswersError(t *testing.T) {
	e := start(t, Options{ImmediateTypes: []string{"Notebook"}})
	ctx := context.Background()
	f := sdk(t, e)
	created, err := f.NewWorkspacesClient().CreateWorkspace(ctx, core.CreateWorkspaceRequest{DisplayName: to.Ptr("w")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AddFault(FaultRule{Method: "POST", Path: "/v1/workspaces/*/items", Nth: 2, Status: 500, ErrorCode: "InternalServerError", Message: "boom"}); err != nil {
		t.Fatal(err)
	}
	items := f.NewItemsClient()
	mk := func(name string) error {
		p, err := items.BeginCreateItem(ctx, *created.ID, core.CreateItemRequest{DisplayName: to.Ptr(name), Type: to.Ptr(core.ItemTypeNotebook)}, nil)
		if err != nil {
			return err
		}
		_, err = p.PollUntilDone(ctx, &runtimePollOptions)
		return err
	}
	if err := mk("a"); err != nil {
		t.Fatalf("first create: %v", err)
	}
	re := responseError(t, mk("b"))
	if re.StatusCode != 500 || re.ErrorCode != "InternalServerError" || re.RawResponse.Header.Get("x-ms-public-api-error-code") != "InternalServerError" {
		t.Errorf("second create: %d %s", re.StatusCode, re.ErrorCode)
	}
	if *re.ErrorResponse.Message != "boom" || re.ErrorResponse.RequestID == nil {
		t.Errorf("error body = %+v", re.ErrorResponse)
	}
	if err := mk("c"); err != nil {
		t.Fatalf("third create: %v", err)
	}
}

var runtimePollOptions = runtimePollUntilDone(10 * time.Millisecond)

func runtimePollUntilDone(d time.Duration) runtime.PollUntilDoneOptions {
	return runtime.PollUntilDoneOptions{Frequency: d}
}

func TestSDKTypeSpecificCollections(t *testing.T) {
	e := start(t, Options{ImmediateTypes: []string{"Notebook", "DataPipeline", "Lakehouse"}})
	ctx := context.Background()
	id, secret := e.ServicePrincipal()
	nf, err := notebook.NewClientFactory(credential(t, e, id, secret), to.Ptr(e.URL()), &fabric.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: checkedClient(t, e), Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	nbs := nf.NewItemsClient()
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "typed"})
	created, err := nbs.CreateNotebook(ctx, wsID, notebook.CreateNotebookRequest{DisplayName: to.Ptr("etl"),
		Definition: &notebook.Definition{Parts: []notebook.DefinitionPart{{Path: to.Ptr("notebook-content.py"),
			Payload: to.Ptr(b64("print(1)")), PayloadType: to.Ptr(notebook.PayloadTypeInlineBase64)}}}}, nil)
	if err != nil {
		t.Fatalf("CreateNotebook: %v", err)
	}
	if *created.Type != notebook.ItemTypeNotebook {
		t.Errorf("created = %+v", created.Notebook)
	}
	var pipe itemJSON
	sp.do("POST", "/v1/workspaces/"+wsID+"/dataPipelines", map[string]string{"displayName": "p"}).json(t, &pipe)
	if pipe.Type != "DataPipeline" {
		t.Errorf("dataPipelines create = %+v", pipe)
	}
	list, err := nbs.ListNotebooks(ctx, wsID, nil)
	if err != nil || len(list) != 1 || *list[0].DisplayName != "etl" {
		t.Errorf("ListNotebooks = %v, %v", list, err)
	}
	def, err := nbs.GetNotebookDefinition(ctx, wsID, *created.ID, nil)
	if err != nil || len(def.Definition.Parts) != 2 {
		t.Errorf("GetNotebookDefinition = %+v, %v", def, err)
	}
	_, err = nbs.GetNotebook(ctx, wsID, pipe.ID, nil)
	if re := responseError(t, err); re.ErrorCode != "ItemNotFound" {
		t.Errorf("a pipeline through /notebooks: %s", re.ErrorCode)
	}
	wantError(t, sp.do("POST", "/v1/workspaces/"+wsID+"/notebooks", map[string]string{"displayName": "x", "type": "Lakehouse"}), 400, "InvalidItemType")
	wantError(t, sp.do("GET", "/v1/workspaces/"+wsID+"/spreadsheets", nil), 404, "NotFound")
	var lh itemJSON
	sp.do("POST", "/v1/workspaces/"+wsID+"/lakehouses", map[string]string{"displayName": "lake"}).json(t, &lh)
	var got struct{ Properties lakehouseProperties }
	sp.do("GET", "/v1/workspaces/"+wsID+"/lakehouses/"+lh.ID, nil).json(t, &got)
	if ep := got.Properties.SQLEndpointProperties; ep == nil || ep.ProvisioningStatus != "Success" {
		t.Errorf("lakehouse properties = %+v", got.Properties)
	}
	if _, err := nbs.DeleteNotebook(ctx, wsID, *created.ID, nil); err != nil {
		t.Errorf("DeleteNotebook: %v", err)
	}
}

func TestSDKGitAndIdentity(t *testing.T) {
	t.Parallel() // waits out a Retry-After
	e := start(t, Options{ImmediateTypes: []string{"Notebook"}})
	ctx := context.Background()
	f := sdk(t, e)
	ws, err := f.NewWorkspacesClient().CreateWorkspace(ctx, core.CreateWorkspaceRequest{DisplayName: to.Ptr("git"), CapacityID: to.Ptr(DefaultCapacityID)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.NewItemsClient().CreateItem(ctx, *ws.ID, core.CreateItemRequest{DisplayName: to.Ptr("nb"), Type: to.Ptr(core.ItemTypeNotebook)}, nil); err != nil {
		t.Fatalf("CreateItem: %v", err)
	}
	git := f.NewGitClient()
	_, err = git.Connect(ctx, *ws.ID, core.GitConnectRequest{
		GitProviderDetails: &core.AzureDevOpsDetails{GitProviderType: to.Ptr(core.GitProviderTypeAzureDevOps),
			OrganizationName: to.Ptr("contoso"), ProjectName: to.Ptr("data"), RepositoryName: to.Ptr("fabric"),
			BranchName: to.Ptr("main"), DirectoryName: to.Ptr("/")},
		MyGitCredentials: &core.ConfiguredConnectionGitCredentials{Source: to.Ptr(core.GitCredentialsSourceConfiguredConnection), ConnectionID: to.Ptr(DefaultConnectionID)},
	}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	init, err := git.InitializeConnection(ctx, *ws.ID, &core.GitClientBeginInitializeConnectionOptions{
		GitInitializeConnectionRequest: &core.InitializeGitConnectionRequest{InitializationStrategy: to.Ptr(core.InitializationStrategyPreferWorkspace)}})
	if err != nil || *init.RequiredAction != core.RequiredActionCommitToGit {
		t.Fatalf("InitializeConnection: %+v %v", init, err)
	}
	if _, err := git.CommitToGit(ctx, *ws.ID, core.CommitToGitRequest{Mode: to.Ptr(core.CommitModeAll), Comment: to.Ptr("init")}, nil); err != nil {
		t.Fatalf("CommitToGit: %v", err)
	}
	status, err := git.GetStatus(ctx, *ws.ID, nil)
	if err != nil || len(status.Changes) != 0 || *status.WorkspaceHead != *status.RemoteCommitHash {
		t.Fatalf("GetStatus: %+v %v", status, err)
	}
	conn, err := git.GetConnection(ctx, *ws.ID, nil)
	if err != nil || *conn.GitConnectionState != core.GitConnectionStateConnectedAndInitialized || conn.GitSyncDetails == nil {
		t.Fatalf("GetConnection: %+v %v", conn, err)
	}
	if ado, ok := conn.GitProviderDetails.(*core.AzureDevOpsDetails); !ok || *ado.ProjectName != "data" {
		t.Errorf("provider details = %#v", conn.GitProviderDetails)
	}
	creds, err := git.GetMyGitCredentials(ctx, *ws.ID, nil)
	if cc, ok := creds.GitCredentialsConfigurationResponseClassification.(*core.ConfiguredConnectionGitCredentialsResponse); err != nil || !ok || *cc.ConnectionID != DefaultConnectionID {
		t.Errorf("GetMyGitCredentials: %#v %v", creds.GitCredentialsConfigurationResponseClassification, err)
	}
	ident, err := f.NewWorkspacesClient().ProvisionIdentity(ctx, *ws.ID, nil)
	if err != nil || ident.ApplicationID == nil {
		t.Fatalf("ProvisionIdentity: %+v %v", ident, err)
	}
}
