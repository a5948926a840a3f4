package builtins

// The chaos estate's shortcuts and schedules: a lakehouse's ADLS Gen2 and S3 compatible shortcuts
// whose targets v2 changes (replaces that overwrite in one call), one to a OneLake folder v2 adds, a
// KQL database's table shortcut v2 moves from S3 to Google Cloud Storage (a replace by delete and
// create, the create a long-running operation), and the lakehouse's table maintenance schedule, which
// v2 makes monthly (the fourth Sunday of every other month) and pauses (an update in place). Appended
// to chaosV1 and chaosV2, whose lake they use.

const chaosShortcutsSchedulesV1 = `
fabric.shortcut(item = lake, name = "ext", path = "Files", adls_gen2 = "https://contoso.dfs.core.windows.net",
                subpath = "/landing/v1", connection_id = %[1]q, conflict_policy = "CreateOrOverwrite")
eh = fabric.item(workspace = ws, type = "Eventhouse", name = "eh")
logs = fabric.item(workspace = ws, type = "KQLDatabase", name = "logs", depends_on = [eh])
fabric.shortcut(item = logs, name = "events", s3 = "https://events.s3.us-west-2.amazonaws.com", subpath = "v1",
                connection_id = %[1]q)
fabric.shortcut(item = lake, name = "minio", path = "Files", s3_compatible = "https://s3.contoso.com", bucket = "v1",
                subpath = "in", connection_id = %[1]q, conflict_policy = "CreateOrOverwrite")
fabric.schedule(item = lake, job_type = "TableMaintenance", times = ["02:30", "14:30"], start = "2026-01-01T00:00:00Z",
                end = "2027-01-01T00:00:00Z")
`

const chaosShortcutsSchedulesV2 = `
fabric.shortcut(item = lake, name = "ext", path = "Files", adls_gen2 = "https://contoso.dfs.core.windows.net",
                subpath = "/landing/v2", connection_id = %[1]q, conflict_policy = "CreateOrOverwrite")
fabric.shortcut(item = lake, name = "mirror", path = "Files", onelake = lake, onelake_path = "Tables")
eh = fabric.item(workspace = ws, type = "Eventhouse", name = "eh")
logs = fabric.item(workspace = ws, type = "KQLDatabase", name = "logs", depends_on = [eh])
fabric.shortcut(item = logs, name = "events", google_cloud_storage = "https://events.storage.googleapis.com",
                subpath = "/v2", connection_id = %[1]q, query_acceleration = True)
fabric.shortcut(item = lake, name = "minio", path = "Files", s3_compatible = "https://s3.contoso.com", bucket = "v2",
                subpath = "in", connection_id = %[1]q, conflict_policy = "CreateOrOverwrite")
fabric.schedule(item = lake, job_type = "TableMaintenance", times = ["03:00"], week_of_month = "Fourth",
                weekday = "Sunday", months = 2, start = "2026-01-01T00:00:00Z", end = "2027-01-01T00:00:00Z",
                time_zone = "W. Europe Standard Time", enabled = False)
`

// Shortcut and schedule calls the chaos faults may hit: a lakehouse's shortcut create (an overwrite
// too) and a KQL database's, their deletes, the KQL create's operation; a schedule's create, update
// and delete.
func chaosShortcutScheduleCreates() []string {
	return []string{"/v1/workspaces/*/items/*/shortcuts", "/v1/workspaces/*/kqlDatabases/*/shortcuts",
		"/v1/workspaces/*/items/*/jobs/*/schedules"}
}

func chaosShortcutScheduleUpdates() []string {
	return []string{"POST /v1/workspaces/*/items/*/shortcuts", "PATCH /v1/workspaces/*/items/*/jobs/*/schedules/*"}
}

func chaosShortcutScheduleDeletes() []string {
	return []string{"/v1/workspaces/*/items/*/shortcuts/**", "/v1/workspaces/*/kqlDatabases/*/shortcuts/*",
		"/v1/workspaces/*/items/*/jobs/*/schedules/*"}
}

func chaosShortcutOperations() []string { return []string{"/v1/workspaces/*/kqlDatabases/*/shortcuts"} }
