package emulator

import "strings"

type connectionJSON struct {
	ID                string            `json:"id"`
	DisplayName       string            `json:"displayName"`
	ConnectivityType  string            `json:"connectivityType"`
	ConnectionDetails connectionDetails `json:"connectionDetails"`
	PrivacyLevel      string            `json:"privacyLevel"`
	CredentialDetails credentialDetails `json:"credentialDetails"`
}

type connectionDetails struct {
	Type string `json:"type"`
	Path string `json:"path"`
}

type credentialDetails struct {
	CredentialType       string `json:"credentialType"`
	SingleSignOnType     string `json:"singleSignOnType"`
	ConnectionEncryption string `json:"connectionEncryption"`
	SkipTestConnection   bool   `json:"skipTestConnection"`
}

// connectionView renders a fixture connection as a shareable cloud connection with a key credential, which is
// what a GitHub connection for Git integration is.
func connectionView(c Connection) connectionJSON {
	v := connectionJSON{ID: c.ID, DisplayName: c.DisplayName, ConnectivityType: "ShareableCloud", PrivacyLevel: "Organizational",
		ConnectionDetails: connectionDetails{Type: c.Type, Path: c.Path},
		CredentialDetails: credentialDetails{CredentialType: "Key", SingleSignOnType: "None", ConnectionEncryption: "NotEncrypted"}}
	if v.ConnectionDetails.Type == "" {
		v.ConnectionDetails.Type = "GitHubSourceControl"
	}
	if v.ConnectionDetails.Path == "" {
		v.ConnectionDetails.Path = "https://github.com"
	}
	return v
}

func (e *Emulator) listConnections(c *call) (*response, error) {
	out := make([]connectionJSON, 0, len(e.fix.Connections))
	for _, cn := range e.fix.Connections {
		out = append(out, connectionView(cn))
	}
	return paged(c, out)
}

func (e *Emulator) getConnection(c *call) (*response, error) {
	id, err := c.pathID("connectionId")
	if err != nil {
		return nil, err
	}
	for _, cn := range e.fix.Connections {
		if strings.EqualFold(cn.ID, id) {
			return ok(connectionView(cn))
		}
	}
	return nil, notFound("ConnectionNotFound", "Connection", id)
}
