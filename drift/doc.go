// Package drift turns drift detection into a service: it watches plan/env pairs, each on an
// interval with jitter, runs one read-only plan per pair at a time, and reports what it finds as
// status, readiness, metrics, log lines, a trace event and an optional webhook. With a reconcile
// policy it hands the changes the policy allows back to the normal run path.
//
// It never computes or applies a plan itself: the caller gives it the functions that do (fabplan
// serve passes fabplan plan's refresh and fabplan run's apply), so there is one way to plan and
// one way to apply. Every pair shares the caller's Fabric client, and so its per-identity throttle
// and circuit breakers.
package drift
