package cli

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/pflag"

	"github.com/fabplan/fabplan/engine"

	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
)

// Target is the Fabric the client acts on and who it acts as: the endpoint, and the tenant and
// object id of the identity's Fabric token (the token is cached, so this costs no extra sign-in).
func (f *Factory) Target(ctx context.Context, c *fabric.Client) (journal.Target, error) {
	claims, err := fabric.Token(ctx, c.Credential(), fabric.FabricScope)
	if err != nil {
		var fe *fabric.Error
		if errors.As(err, &fe) && fe.Hint == "" {
			fe.Hint = fabric.AuthHint
		}
		return journal.Target{}, err
	}
	endpoint := c.BaseURL()
	if f.EmulatorURL() != "" {
		endpoint = EmbeddedEndpoint
	}
	return journal.Target{Endpoint: endpoint, Tenant: claims.TenantID, Identity: claims.ObjectID}, nil
}

// BindRollbackDeadline adds --rollback-deadline (run and rollback).
func BindRollbackDeadline(fs *pflag.FlagSet, d *time.Duration) {
	fs.DurationVar(d, "rollback-deadline", engine.DefaultRollbackDeadline,
		"how long a rollback may take, retries and waits for Fabric to recover included; the undos left then are listed")
}
