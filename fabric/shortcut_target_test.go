package fabric

import (
	"encoding/json"
	"testing"

	"github.com/microsoft/fabric-sdk-go/fabric/core"
	"github.com/microsoft/fabric-sdk-go/fabric/kqldatabase"
)

// Every target type goes to the lakehouse SDK's request and comes back from either SDK's answer with
// all its fields: a field lost on the way would make a shortcut fabplan created look like drift, or
// be created without it.
func TestShortcutTargetsRoundTrip(t *testing.T) {
	conn := "4c5d6e7f-0000-4000-8000-00000000c011"
	targets := []ShortcutTarget{
		{Type: ShortcutOneLake, WorkspaceID: "w", ItemID: "i", Path: "Tables/t"},
		{Type: ShortcutAdlsGen2, Location: "https://a.dfs.core.windows.net", Subpath: "/c/f", ConnectionID: conn},
		{Type: ShortcutAmazonS3, Location: "https://b.s3.us-west-2.amazonaws.com", Subpath: "f", ConnectionID: conn},
		{Type: ShortcutGoogleCloudStorage, Location: "https://b.storage.googleapis.com", Subpath: "/f", ConnectionID: conn},
		{Type: ShortcutS3Compatible, Location: "https://s3.contoso.com", Bucket: "b", Subpath: "/f", ConnectionID: conn},
		{Type: ShortcutAzureBlobStorage, Location: "https://a.blob.core.windows.net", Subpath: "/c/f", ConnectionID: conn},
		{Type: ShortcutDataverse, Location: "https://org.crm4.dynamics.com", TableName: "account",
			DeltaLakeFolder: "dv/account", ConnectionID: conn},
		{Type: ShortcutOneDriveSharePoint, Location: "https://contoso.sharepoint.com", Subpath: "/Shared/f",
			ConnectionID: conn, UpdateSensitivity: true},
	}
	for _, want := range targets {
		req, err := want.sdk()
		if err != nil {
			t.Fatal(err)
		}
		sent, _ := json.Marshal(req)
		var back map[string]any
		_ = json.Unmarshal(sent, &back)
		back["type"] = want.Type
		answer, _ := json.Marshal(back)
		var lake core.Target
		if err := json.Unmarshal(answer, &lake); err != nil {
			t.Fatal(err)
		}
		if got := fromAPITarget(&lake); got != want {
			t.Errorf("%s: sent %s, the lakehouse answer reads back as %+v", want.Type, sent, got)
		}
		if want.Type == ShortcutDataverse || want.Type == ShortcutOneDriveSharePoint {
			continue // not a KQL table shortcut's destination
		}
		var kql kqldatabase.Target
		if err := json.Unmarshal(answer, &kql); err != nil {
			t.Fatal(err)
		}
		if got := fromAPITarget(&kql); got.Normalized() != want.Normalized() {
			t.Errorf("%s: the KQL answer %s reads back as %+v", want.Type, answer, got)
		}
	}
}
