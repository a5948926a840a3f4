package fabric

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/cenkalti/backoff/v4"
)

// The policies fabplan puts in the azcore pipeline, and the clock the backoff reads.
var (
	_ policy.Policy = errorPolicy{}
	_ policy.Policy = retryPolicy{}
	_ policy.Policy = breakerPolicy{}
	_ policy.Policy = throttlePolicy{}
	_ policy.Policy = bearerPolicy{}
	_ policy.Policy = logPolicy{}
	_ Clock         = realClock{}
	_ backoff.Clock = Clock(nil)
)
