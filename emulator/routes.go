package emulator

// routes registers every endpoint; docs/emulator.md lists the same table.
func (e *Emulator) routes() {
	m := e.mux
	// Entra ID
	m.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", e.openIDConfiguration)
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/token", e.token)
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", e.deviceCodeStart)
	m.HandleFunc("GET "+managedIdentityPath, e.managedIdentityToken)

	// Fabric: workspaces
	e.fabric("GET /v1/workspaces", e.listWorkspaces)
	e.fabric("POST /v1/workspaces", e.createWorkspace)
	e.fabric("GET /v1/workspaces/{workspaceId}", e.getWorkspace)
	e.fabric("PATCH /v1/workspaces/{workspaceId}", e.updateWorkspace)
	e.fabric("DELETE /v1/workspaces/{workspaceId}", e.deleteWorkspace)
	e.fabric("POST /v1/workspaces/{workspaceId}/assignToCapacity", e.assignToCapacity)
	e.fabric("POST /v1/workspaces/{workspaceId}/unassignFromCapacity", e.unassignFromCapacity)
	e.fabric("POST /v1/workspaces/{workspaceId}/provisionIdentity", e.provisionIdentity)
	e.fabric("POST /v1/workspaces/{workspaceId}/deprovisionIdentity", e.deprovisionIdentity)

	// Fabric: role assignments, folders
	e.fabric("GET /v1/workspaces/{workspaceId}/roleAssignments", e.listRoleAssignments)
	e.fabric("POST /v1/workspaces/{workspaceId}/roleAssignments", e.addRoleAssignment)
	e.fabric("GET /v1/workspaces/{workspaceId}/roleAssignments/{roleAssignmentId}", e.getRoleAssignment)
	e.fabric("PATCH /v1/workspaces/{workspaceId}/roleAssignments/{roleAssignmentId}", e.updateRoleAssignment)
	e.fabric("DELETE /v1/workspaces/{workspaceId}/roleAssignments/{roleAssignmentId}", e.deleteRoleAssignment)
	e.fabric("GET /v1/workspaces/{workspaceId}/folders", e.listFolders)
	e.fabric("POST /v1/workspaces/{workspaceId}/folders", e.createFolder)
	e.fabric("GET /v1/workspaces/{workspaceId}/folders/{folderId}", e.getFolder)
	e.fabric("PATCH /v1/workspaces/{workspaceId}/folders/{folderId}", e.updateFolder)
	e.fabric("DELETE /v1/workspaces/{workspaceId}/folders/{folderId}", e.deleteFolder)
	e.fabric("POST /v1/workspaces/{workspaceId}/folders/{folderId}/move", e.moveFolder)

	// Fabric: Git
	e.fabric("GET /v1/workspaces/{workspaceId}/git/connection", e.gitGetConnection)
	e.fabric("POST /v1/workspaces/{workspaceId}/git/connect", e.gitConnect)
	e.fabric("POST /v1/workspaces/{workspaceId}/git/disconnect", e.gitDisconnect)
	e.fabric("POST /v1/workspaces/{workspaceId}/git/initializeConnection", e.gitInitialize)
	e.fabric("GET /v1/workspaces/{workspaceId}/git/status", e.gitStatus)
	e.fabric("POST /v1/workspaces/{workspaceId}/git/commitToGit", e.gitCommit)
	e.fabric("POST /v1/workspaces/{workspaceId}/git/updateFromGit", e.gitUpdate)
	e.fabric("GET /v1/workspaces/{workspaceId}/git/myGitCredentials", e.gitGetCredentials)
	e.fabric("PATCH /v1/workspaces/{workspaceId}/git/myGitCredentials", e.gitUpdateCredentials)

	// Fabric: items
	e.fabric("GET /v1/workspaces/{workspaceId}/items", e.listItems)
	e.fabric("POST /v1/workspaces/{workspaceId}/items", e.createItem)
	e.fabric("GET /v1/workspaces/{workspaceId}/items/{itemId}", e.getItem)
	e.fabric("PATCH /v1/workspaces/{workspaceId}/items/{itemId}", e.updateItem)
	e.fabric("DELETE /v1/workspaces/{workspaceId}/items/{itemId}", e.deleteItem)
	e.fabric("POST /v1/workspaces/{workspaceId}/items/{itemId}/getDefinition", e.getItemDefinition)
	e.fabric("POST /v1/workspaces/{workspaceId}/items/{itemId}/updateDefinition", e.updateItemDefinition)
	e.fabric("POST /v1/workspaces/{workspaceId}/items/{itemId}/move", e.moveItem)
	e.fabric("GET /v1/workspaces/{workspaceId}/items/{itemId}/shortcuts", e.listShortcuts)
	e.fabric("POST /v1/workspaces/{workspaceId}/items/{itemId}/shortcuts", e.createShortcut)
	e.fabric("GET /v1/workspaces/{workspaceId}/items/{itemId}/shortcuts/{shortcut...}", e.getShortcut)
	e.fabric("DELETE /v1/workspaces/{workspaceId}/items/{itemId}/shortcuts/{shortcut...}", e.deleteShortcut)
	// Without it the mux would redirect DELETE .../shortcuts to .../shortcuts/.
	e.fabric("DELETE /v1/workspaces/{workspaceId}/items/{itemId}/shortcuts", notServed)

	tsc := "/v1/workspaces/{workspaceId}/kqlDatabases/{itemId}/shortcuts"
	e.fabric("GET "+tsc, e.listTableShortcuts)
	e.fabric("POST "+tsc, e.createTableShortcut)
	e.fabric("GET "+tsc+"/{shortcutName}", e.getTableShortcut)
	e.fabric("DELETE "+tsc+"/{shortcutName}", e.deleteTableShortcut)

	// Fabric: item job schedules
	sched := "/v1/workspaces/{workspaceId}/items/{itemId}/jobs/{jobType}/schedules"
	e.fabric("GET "+sched, e.listSchedules)
	e.fabric("POST "+sched, e.createSchedule)
	e.fabric("GET "+sched+"/{scheduleId}", e.getSchedule)
	e.fabric("PATCH "+sched+"/{scheduleId}", e.updateSchedule)
	e.fabric("DELETE "+sched+"/{scheduleId}", e.deleteSchedule)

	// Fabric: environment staging and publish
	env := "/v1/workspaces/{workspaceId}/environments/{itemId}"
	e.fabric("GET "+env+"/staging/libraries", e.getStagingLibraries)
	e.fabric("POST "+env+"/staging/libraries", e.uploadStagingLibraries)
	e.fabric("DELETE "+env+"/staging/libraries", e.deleteStagingLibrary)
	e.fabric("POST "+env+"/staging/libraries/{libraryName}", e.uploadCustomLibrary)
	e.fabric("DELETE "+env+"/staging/libraries/{libraryName}", e.deleteStagingLibrary)
	e.fabric("GET "+env+"/libraries", e.getPublishedLibraries)
	e.fabric("GET "+env+"/staging/sparkcompute", e.getSparkCompute)
	e.fabric("PATCH "+env+"/staging/sparkcompute", e.updateSparkCompute)
	e.fabric("GET "+env+"/sparkcompute", e.getSparkCompute)
	e.fabric("POST "+env+"/staging/publish", e.publishEnvironment)
	e.fabric("POST "+env+"/staging/cancelPublish", e.cancelPublish)

	// Fabric: type-specific item collections (/notebooks, /lakehouses, /semanticModels, ...)
	e.fabric("GET /v1/workspaces/{workspaceId}/{collection}", typed(e.listItems))
	e.fabric("POST /v1/workspaces/{workspaceId}/{collection}", typed(e.createItem))
	e.fabric("GET /v1/workspaces/{workspaceId}/{collection}/{itemId}", typed(e.getItem))
	e.fabric("PATCH /v1/workspaces/{workspaceId}/{collection}/{itemId}", typed(e.updateItem))
	e.fabric("DELETE /v1/workspaces/{workspaceId}/{collection}/{itemId}", typed(e.deleteItem))
	e.fabric("POST /v1/workspaces/{workspaceId}/{collection}/{itemId}/getDefinition", typed(e.getItemDefinition))
	e.fabric("POST /v1/workspaces/{workspaceId}/{collection}/{itemId}/updateDefinition", typed(e.updateItemDefinition))

	// Fabric: capacities, operations
	e.fabric("GET /v1/connections", e.listConnections)
	e.fabric("POST /v1/connections", e.createConnection)
	e.fabric("GET /v1/connections/{connectionId}", e.getConnection)
	e.fabric("PATCH /v1/connections/{connectionId}", e.updateConnection)
	e.fabric("DELETE /v1/connections/{connectionId}", e.deleteConnection)
	e.fabric("GET /v1/capacities", e.listCapacities)
	e.fabric("GET /v1/capacities/{capacityId}", e.getCapacity)
	e.fabric("GET /v1/operations/{operationId}", e.getOperation)
	e.fabric("GET /v1/operations/{operationId}/result", e.getOperationResult)

	// Microsoft Graph, Key Vault
	m.HandleFunc("GET /graph/v1.0/{collection}", e.graph)
	m.HandleFunc("GET /graph/v1.0/{collection}/{id}", e.graph)
	m.HandleFunc("GET /keyvault/secrets/{name}", e.getSecret)
	m.HandleFunc("GET /keyvault/secrets/{name}/{version...}", e.getSecret)

	e.appInsightsRoutes()

	// Control (no auth, loopback only)
	e.control("GET /_emulator/state", e.ctlState)
	e.control("DELETE /_emulator/state", e.ctlResetState)
	e.control("GET /_emulator/requests", e.ctlRequests)
	e.control("DELETE /_emulator/requests", e.ctlClearRequests)
	e.control("GET /_emulator/faults", e.ctlListFaults)
	e.control("POST /_emulator/faults", e.ctlAddFaults)
	e.control("DELETE /_emulator/faults", e.ctlClearFaults)
	e.control("GET /_emulator/info", e.ctlInfo)
	e.control("PUT /_emulator/secrets/{name}", e.ctlPutSecret)
	e.control("GET /_emulator/devicecodes", e.ctlDeviceCodes)
	e.control("POST /_emulator/devicecode/approve", e.ctlApproveDeviceCode)
}
