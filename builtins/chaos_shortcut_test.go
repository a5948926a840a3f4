package builtins

// The chaos estate's shortcuts: a lakehouse's ADLS Gen2 shortcut whose target v2 changes (a
// replace that overwrites in one call), one to a OneLake folder v2 adds, and a KQL database's table
// shortcut whose target v2 changes (a replace by delete and create, the create a long-running
// operation). Appended to chaosV1 and chaosV2, whose lake they use.

const chaosShortcutsV1 = `
fabric.shortcut(item = lake, name = "ext", path = "Files", adls_gen2 = "https://contoso.dfs.core.windows.net",
                subpath = "/landing/v1", connection_id = %[1]q, conflict_policy = "CreateOrOverwrite")
eh = fabric.item(workspace = ws, type = "Eventhouse", name = "eh")
logs = fabric.item(workspace = ws, type = "KQLDatabase", name = "logs", depends_on = [eh])
fabric.shortcut(item = logs, name = "events", s3 = "https://events.s3.us-west-2.amazonaws.com", subpath = "v1",
                connection_id = %[1]q)
`

const chaosShortcutsV2 = `
fabric.shortcut(item = lake, name = "ext", path = "Files", adls_gen2 = "https://contoso.dfs.core.windows.net",
                subpath = "/landing/v2", connection_id = %[1]q, conflict_policy = "CreateOrOverwrite")
fabric.shortcut(item = lake, name = "mirror", path = "Files", onelake = lake, onelake_path = "Tables")
eh = fabric.item(workspace = ws, type = "Eventhouse", name = "eh")
logs = fabric.item(workspace = ws, type = "KQLDatabase", name = "logs", depends_on = [eh])
fabric.shortcut(item = logs, name = "events", s3 = "https://events.s3.us-west-2.amazonaws.com", subpath = "v2",
                connection_id = %[1]q, query_acceleration = True)
`

// Shortcut calls the chaos faults may hit: a lakehouse's shortcut create (an overwrite too) and a
// KQL database's, their deletes, and the KQL create's operation.
func chaosShortcutCreates() []string {
	return []string{"/v1/workspaces/*/items/*/shortcuts", "/v1/workspaces/*/kqlDatabases/*/shortcuts"}
}

func chaosShortcutUpdates() []string { return []string{"POST /v1/workspaces/*/items/*/shortcuts"} }

func chaosShortcutDeletes() []string {
	return []string{"/v1/workspaces/*/items/*/shortcuts/**", "/v1/workspaces/*/kqlDatabases/*/shortcuts/*"}
}

func chaosShortcutOperations() []string { return []string{"/v1/workspaces/*/kqlDatabases/*/shortcuts"} }
