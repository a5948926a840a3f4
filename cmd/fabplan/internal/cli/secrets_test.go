package cli

import (
	"fmt"
	"strings"
	"testing"
)

// TestRedactorKnowsCredentialEnv: the values of the credential variables in the environment are
// scrubbed from stdout and stderr before any secret() is resolved; a path and ordinary settings
// are not.
func TestRedactorKnowsCredentialEnv(t *testing.T) {
	io, out, errOut := Test()
	f := NewFactory(io, "test")
	f.Getenv = func(k string) string {
		return map[string]string{
			"AZURE_CLIENT_SECRET": "SENTINEL-client-secret", "GITHUB_TOKEN": "SENTINEL-gh-token",
			"AZURE_TENANT_ID": "8c3dad1d-b6bc-4f8b-939b-8263372eced6", "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token",
		}[k]
	}
	flush := io.Redact(f.Redactor())
	fmt.Fprintln(io.Out, "secret SENTINEL-client-secret, tenant 8c3dad1d-b6bc-4f8b-939b-8263372eced6")
	fmt.Fprintln(io.ErrOut, "token SENTINEL-gh-token, file /var/run/token")
	flush()
	if got := out.String(); got != "secret <secret:AZURE_CLIENT_SECRET>, tenant 8c3dad1d-b6bc-4f8b-939b-8263372eced6\n" {
		t.Errorf("stdout %q", got)
	}
	if got := errOut.String(); strings.Contains(got, "SENTINEL") || !strings.Contains(got, "/var/run/token") {
		t.Errorf("stderr %q; want the token scrubbed and the path kept", got)
	}
}

func TestInCI(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"CI": "true"}, true},
		{map[string]string{"CI": "1"}, true},
		{map[string]string{"CI": "false"}, false},
		{map[string]string{"CI": "0"}, false},
		{map[string]string{"TF_BUILD": "True"}, true},
	} {
		if got := InCI(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("InCI(%v) = %v, want %v", tc.env, got, tc.want)
		}
	}
}
