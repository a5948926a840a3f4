package fabric

import (
	"errors"
	"testing"
)

func TestAuthMessageKeepsTheAADSTSLine(t *testing.T) {
	raw := "ClientSecretCredential authentication failed. \nPOST https://login/x/oauth2/v2.0/token\n----\nRESPONSE 401: 401 Unauthorized\n----\n{\n  \"error\": \"invalid_client\",\n  \"error_description\": \"AADSTS7000215: Invalid client secret provided. Ensure \\\"value\\\". Trace ID: abc Correlation ID: def\",\n  \"trace_id\": \"abc\"\n}\n"
	got := authMessage(errors.New(raw))
	want := `ClientSecretCredential authentication failed. AADSTS7000215: Invalid client secret provided. Ensure "value".`
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := authMessage(errors.New("DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n...")); got != "DefaultAzureCredential: failed to acquire a token." {
		t.Errorf("no description: got %q", got)
	}
}
