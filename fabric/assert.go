package fabric

import (
	"log/slog"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/cenkalti/backoff/v4"
)

// The policies fabplan puts in the azcore pipeline, the clock the backoff reads, the credentials and
// log handler it wraps, and its errors: every interface implementation, checked at compile time.
var (
	_ policy.Policy = errorPolicy{}
	_ policy.Policy = retryPolicy{}
	_ policy.Policy = breakerPolicy{}
	_ policy.Policy = throttlePolicy{}
	_ policy.Policy = bearerPolicy{}
	_ policy.Policy = logPolicy{}
	_ Clock         = realClock{}
	_ backoff.Clock = Clock(nil)

	_ azcore.TokenCredential = (*tokenCache)(nil)
	_ azcore.TokenCredential = vaultCredential{}
	_ slog.Handler           = (*redactingHandler)(nil)
	_ error                  = (*Error)(nil)
	_ error                  = errGiveUp{}
)
