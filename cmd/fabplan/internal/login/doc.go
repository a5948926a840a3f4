// Package login implements `fabplan login --device-code` and RequireUser, the check `fabplan run`
// and `fabplan doctor` make before a plan's steps that need a user identity.
//
// What it owns: the device-code sign-in through azidentity's DeviceCodeCredential (the URL and
// code go to stderr, the signed-in user to stdout), the explanation of a declined, expired or
// unknown code, the refusal under CI=true, and the error naming the steps a service principal
// cannot carry out.
//
// What it never does: store a token or refresh token (sign-ins live in the process's memory), or
// print a token.
package login
