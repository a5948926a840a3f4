package fabric

import (
	"context"
	"net/http"
)

// WorkspaceIdentity is a workspace's managed identity: the Entra application and its service
// principal, which Fabric creates when the identity is provisioned.
type WorkspaceIdentity struct {
	ApplicationID      string `json:"applicationId"`
	ServicePrincipalID string `json:"servicePrincipalId"`
}

// GetWorkspaceIdentity reads a workspace's identity; nil when none is provisioned.
func (c *Client) GetWorkspaceIdentity(ctx context.Context, ws string) (*WorkspaceIdentity, error) {
	r, err := c.workspaces.GetWorkspace(withCall(ctx, "GetWorkspace"), ws, nil)
	if err != nil {
		return nil, err
	}
	id := r.WorkspaceInfo.WorkspaceIdentity
	if id == nil || (id.ApplicationID == nil && id.ServicePrincipalID == nil) {
		return nil, nil
	}
	return &WorkspaceIdentity{ApplicationID: str(id.ApplicationID), ServicePrincipalID: str(id.ServicePrincipalID)}, nil
}

// ProvisionIdentity provisions the workspace identity (200, or 202 followed to its result).
// Provisioning a provisioned workspace keeps its identity, so an operation that failed for a passing
// reason is sent again.
func (c *Client) ProvisionIdentity(ctx context.Context, ws string) (WorkspaceIdentity, error) {
	ctx = withCall(ctx, "ProvisionIdentity")
	var out WorkspaceIdentity
	if err := c.lro(ctx, http.MethodPost, "/v1/workspaces/"+ws+"/provisionIdentity", nil, &out); err != nil {
		return WorkspaceIdentity{}, err
	}
	if out.ServicePrincipalID == "" { // an operation without a result: read it back
		got, err := c.GetWorkspaceIdentity(ctx, ws)
		if err != nil || got == nil {
			return out, err
		}
		out = *got
	}
	return out, nil
}

// DeprovisionIdentity removes the workspace identity (200, or 202 followed to the end).
func (c *Client) DeprovisionIdentity(ctx context.Context, ws string) error {
	ctx = withCall(ctx, "DeprovisionIdentity")
	resp, err := c.send(ctx, http.MethodPost, "/v1/workspaces/"+ws+"/deprovisionIdentity", nil)
	if err != nil {
		return err
	}
	return c.await(ctx, resp, nil)
}
