package state_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/state"
)

func TestParseLocation(t *testing.T) {
	for in, want := range map[string]state.Location{
		"":            {Dir: ".fabplan"},
		"ci/.fabplan": {Dir: "ci/.fabplan"},
		"azblob://acct/tfstate/estates/prod": {Account: "acct", Container: "tfstate", Prefix: "estates/prod",
			Endpoint: "https://acct.blob.core.windows.net"},
		"azblob://acct/tfstate": {Account: "acct", Container: "tfstate", Endpoint: "https://acct.blob.core.windows.net"},
		"https://acct.blob.core.windows.net/tfstate/prod/": {Account: "acct", Container: "tfstate", Prefix: "prod",
			Endpoint: "https://acct.blob.core.windows.net"},
		"https://acct.blob.core.chinacloudapi.cn/c": {Account: "acct", Container: "c",
			Endpoint: "https://acct.blob.core.chinacloudapi.cn"},
	} {
		got, err := state.ParseLocation(in)
		if err != nil || got != want {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if got, _ := state.ParseLocation("https://acct.blob.core.windows.net/tfstate/prod/"); got.String() !=
		"azblob://acct/tfstate/prod" {
		t.Errorf("String = %s", got)
	}
	for in, why := range map[string]string{
		"s3://bucket/x":           "unknown scheme",
		"azblob://acct":           "no container",
		"https://example.com/c/p": "not a blob endpoint",
		"https://a.blob.core.windows.net/c?sv=2024&sig=SECRET": "must not carry credentials",
	} {
		_, err := state.ParseLocation(in)
		if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "azblob://ACCOUNT") {
			t.Errorf("ParseLocation(%q): %v, want an error saying %q and what to use", in, err, why)
		}
	}
}

func TestOpenRefusesAConnectionStringForAnotherAccount(t *testing.T) {
	loc, _ := state.ParseLocation("azblob://prodacct/c/p")
	_, err := state.Open(loc, state.Options{Getenv: func(k string) string {
		return map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "AccountName=devacct;AccountKey=a2V5"}[k]
	}})
	if err == nil || !strings.Contains(err.Error(), "account devacct") {
		t.Errorf("Open: %v", err)
	}
	// Nor does a malformed one get quoted in the error.
	loc, _ = state.ParseLocation("azblob://x/c/p")
	_, err = state.Open(loc, state.Options{Getenv: func(k string) string {
		return map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "AccountName=x;AccountKey=SENTINEL-KEY;Blob"}[k]
	}})
	if err == nil || strings.Contains(err.Error(), "SENTINEL") {
		t.Errorf("Open with a malformed connection string: %v", err)
	}
}

func TestSecretsOfTheStorageSettings(t *testing.T) {
	env := map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=KEY==;",
		"AZURE_STORAGE_SAS_TOKEN":         "?sv=2024&sig=SIG",
	}
	got := state.Secrets(func(k string) string { return env[k] })
	if want := []string{"KEY==", "sv=2024&sig=SIG"}; !slices.Equal(got, want) {
		t.Errorf("Secrets = %q, want %q", got, want)
	}
}
