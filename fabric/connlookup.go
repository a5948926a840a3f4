package fabric

import (
	"context"

	"github.com/microsoft/fabric-sdk-go/fabric/core"
)

// Connection is a data connection the identity can see. Its credentials are never read: Fabric
// returns only their type.
type Connection struct {
	ID, DisplayName, ConnectivityType, GatewayID, Type, Path, PrivacyLevel, CredentialType string
}

func fromSDKConnection(cc core.ConnectionClassification) Connection {
	cn := cc.GetConnection()
	out := Connection{ID: str(cn.ID), DisplayName: str(cn.DisplayName), ConnectivityType: str(cn.ConnectivityType),
		GatewayID: str(cn.GatewayID), PrivacyLevel: str(cn.PrivacyLevel)}
	if d := cn.ConnectionDetails; d != nil {
		out.Type, out.Path = str(d.Type), str(d.Path)
	}
	if d := cn.CredentialDetails; d != nil {
		out.CredentialType = str(d.CredentialType)
	}
	return out
}

// ListConnections lists every connection the identity can see, following continuationUri.
func (c *Client) ListConnections(ctx context.Context) ([]Connection, error) {
	list, err := c.conns.ListConnections(withCall(ctx, "ListConnections"), nil)
	return convertAll(list, err, fromSDKConnection)
}
