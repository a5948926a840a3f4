package fabric

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/microsoft/fabric-sdk-go/fabric/core"
)

// Workspace is a Fabric workspace. CapacityAssignmentProgress and the OneLake endpoints are set by
// GetWorkspace only.
type Workspace struct {
	ID, DisplayName, Description, Type, CapacityID, CapacityAssignmentProgress string
	OneLakeBlobEndpoint, OneLakeDfsEndpoint                                    string
}

// Capacity is a capacity the identity may use.
type Capacity struct{ ID, DisplayName, SKU, Region, State string }

// WorkspaceCreate is the body of CreateWorkspace; CapacityID may be empty.
type WorkspaceCreate struct{ DisplayName, Description, CapacityID string }

// WorkspaceUpdate changes the fields that are not nil.
type WorkspaceUpdate struct{ DisplayName, Description *string }

func str[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// convertAll maps the SDK's list result to fabplan's types.
func convertAll[S, T any](in []S, err error, f func(S) T) ([]T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out, nil
}

// findFirst returns the first listed object that matches: the look-up by natural key.
func findFirst[T any](list []T, err error, match func(T) bool) (T, bool, error) {
	var zero T
	if err != nil {
		return zero, false, err
	}
	for _, v := range list {
		if match(v) {
			return v, true, nil
		}
	}
	return zero, false, nil
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func fromSDKWorkspace(w core.Workspace) Workspace {
	return Workspace{ID: str(w.ID), DisplayName: str(w.DisplayName), Description: str(w.Description),
		Type: str(w.Type), CapacityID: str(w.CapacityID)}
}

// ListWorkspaces lists every workspace the identity can see, following continuationUri.
func (c *Client) ListWorkspaces(ctx context.Context) ([]Workspace, error) {
	list, err := c.workspaces.ListWorkspaces(withCall(ctx, "ListWorkspaces"), nil)
	return convertAll(list, err, fromSDKWorkspace)
}

// GetWorkspace reads one workspace, with its capacity assignment progress.
func (c *Client) GetWorkspace(ctx context.Context, id string) (Workspace, error) {
	r, err := c.workspaces.GetWorkspace(withCall(ctx, "GetWorkspace"), id, nil)
	if err != nil {
		return Workspace{}, err
	}
	w := r.WorkspaceInfo
	out := Workspace{ID: str(w.ID), DisplayName: str(w.DisplayName), Description: str(w.Description),
		Type: str(w.Type), CapacityID: str(w.CapacityID), CapacityAssignmentProgress: str(w.CapacityAssignmentProgress)}
	if e := w.OneLakeEndpoints; e != nil {
		out.OneLakeBlobEndpoint, out.OneLakeDfsEndpoint = str(e.BlobEndpoint), str(e.DfsEndpoint)
	}
	return out, nil
}

// FindWorkspace looks a workspace up by display name (Fabric names are unique per tenant and compared
// without regard to case); ok is false when there is none.
func (c *Client) FindWorkspace(ctx context.Context, name string) (w Workspace, ok bool, err error) {
	all, err := c.ListWorkspaces(ctx)
	return findFirst(all, err, func(w Workspace) bool { return strings.EqualFold(w.DisplayName, name) })
}

// Mismatch says how w differs from what this create sends; "" when w is what it would have made.
func (in WorkspaceCreate) Mismatch(w Workspace) string {
	return mismatch(
		field{"name", in.DisplayName, w.DisplayName, true},
		field{"description", in.Description, w.Description, true},
		field{"capacity", in.CapacityID, w.CapacityID, false})
}

// field is one attribute compared by the Mismatch functions: what was sent and what was found.
type field struct {
	name, sent, found string
	exact             bool // false: compared without regard to case (ids)
}

// mismatch names the fields whose found value is not the sent one; "" when all match.
func mismatch(fields ...field) string {
	var diffs []string
	for _, f := range fields {
		if f.sent == f.found || !f.exact && strings.EqualFold(f.sent, f.found) {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("its %s is %q where this run sent %q", f.name, f.found, f.sent))
	}
	return strings.Join(diffs, ", ")
}

// CreateWorkspace creates a workspace; after a lost or failed answer it looks the name up instead of
// sending the create again blindly, and takes a workspace it finds only if it is what was sent.
func (c *Client) CreateWorkspace(ctx context.Context, in WorkspaceCreate) (Workspace, error) {
	return createReconciled(ctx, c, "CreateWorkspace", fmt.Sprintf("workspace %q", in.DisplayName),
		func(ctx context.Context) (Workspace, bool, error) { return c.FindWorkspace(ctx, in.DisplayName) },
		func(_ context.Context, w Workspace) (string, error) { return in.Mismatch(w), nil },
		func(ctx context.Context) (Workspace, error) {
			r, err := c.workspaces.CreateWorkspace(ctx, core.CreateWorkspaceRequest{
				DisplayName: &in.DisplayName, Description: ptr(in.Description), CapacityID: ptr(in.CapacityID)}, nil)
			if err != nil {
				return Workspace{}, err
			}
			return fromSDKWorkspace(r.Workspace), nil
		})
}

// UpdateWorkspace changes name and/or description.
func (c *Client) UpdateWorkspace(ctx context.Context, id string, in WorkspaceUpdate) (Workspace, error) {
	r, err := c.workspaces.UpdateWorkspace(withCall(ctx, "UpdateWorkspace"), id,
		core.UpdateWorkspaceRequest{DisplayName: in.DisplayName, Description: in.Description}, nil)
	if err != nil {
		return Workspace{}, err
	}
	return fromSDKWorkspace(r.Workspace), nil
}

// DeleteWorkspace deletes a workspace and everything in it.
func (c *Client) DeleteWorkspace(ctx context.Context, id string) error {
	_, err := c.workspaces.DeleteWorkspace(withCall(ctx, "DeleteWorkspace"), id, nil)
	return err
}

// AssignCapacity assigns the workspace to a capacity and waits until capacityAssignmentProgress is
// Completed (Failed is an error).
func (c *Client) AssignCapacity(ctx context.Context, workspaceID, capacityID string) error {
	const op = "AssignCapacity"
	resp, err := c.send(withCall(ctx, op), http.MethodPost, "/v1/workspaces/"+workspaceID+"/assignToCapacity",
		map[string]string{"capacityId": capacityID})
	if err != nil {
		return err
	}
	return c.awaitCapacity(ctx, op, workspaceID, resp)
}

// UnassignCapacity removes the workspace from its capacity and waits for the change to complete.
func (c *Client) UnassignCapacity(ctx context.Context, workspaceID string) error {
	const op = "UnassignCapacity"
	resp, err := c.send(withCall(ctx, op), http.MethodPost, "/v1/workspaces/"+workspaceID+"/unassignFromCapacity", nil)
	if err != nil {
		return err
	}
	return c.awaitCapacity(ctx, op, workspaceID, resp)
}

// awaitCapacity polls the workspace until its capacity assignment is no longer InProgress: Fabric's
// 202 for (un)assignment carries no operation to follow.
func (c *Client) awaitCapacity(ctx context.Context, op, workspaceID string, resp *http.Response) error {
	wait := max(c.pollWait(resp), c.cfg.CapacityPoll)
	deadline := c.clock.Now().Add(c.cfg.CallTimeout)
	for {
		w, err := c.GetWorkspace(ctx, workspaceID)
		if err != nil {
			return err
		}
		switch w.CapacityAssignmentProgress {
		case "Completed", "":
			return nil
		case "Failed":
			return withHint(&Error{Operation: op, ErrorCode: "CapacityAssignmentFailed",
				Message: fmt.Sprintf("capacity assignment of workspace %s ended Failed", workspaceID),
				Hint:    "the identity needs Contributor rights on the capacity, and the capacity must be Active"})
		}
		if c.clock.Now().Add(wait).After(deadline) {
			return stillRunning(op, "capacity assignment of workspace "+workspaceID, c.cfg.CallTimeout)
		}
		if err := sleepFor(ctx, c.clock, WaitOperation, wait); err != nil {
			return transportError(op, err)
		}
	}
}

// ListCapacities lists the capacities the identity may use.
func (c *Client) ListCapacities(ctx context.Context) ([]Capacity, error) {
	list, err := c.capacities.ListCapacities(withCall(ctx, "ListCapacities"), nil)
	return convertAll(list, err, func(k core.Capacity) Capacity {
		return Capacity{ID: str(k.ID), DisplayName: str(k.DisplayName), SKU: str(k.SKU), Region: str(k.Region), State: str(k.State)}
	})
}
