// Package emulator is a local, TLS-only, fault-injecting stand-in for Microsoft Fabric's REST API together with
// the Entra ID token endpoints (client secret, client assertion, device code, and an App Service style
// managed identity endpoint), the Microsoft Graph lookups and the Key Vault secrets that fabplan uses.
// Microsoft's own clients (fabric-sdk-go, azidentity, azsecrets) work against it unchanged.
//
// What it owns: one HTTPS listener with its own CA (ca.pem in Options.Dir, kept there with the token signing
// key so that a restart keeps its clients), the emulated tenant (Fixtures), the state clients change
// (workspaces, role assignments, folders, items with definitions and type-specific properties, shortcuts,
// job schedules, environment staging and publish, capacity assignments, workspace identities, Git
// connections with a simulated remote per repository, cloud connections, operations, secrets), fault injection (deterministic FaultRule values and a seeded random FaultConfig), the request log,
// and the control endpoints under /_emulator/.
//
// What it never does: import any other fabplan package (it is written from the Fabric specification, so it
// cannot share a bug with fabplan's client), print (it reports through Options.Logger), keep package-level
// mutable state, or listen anywhere but the address it is given.
//
// Use from Go:
//
//	e, err := emulator.Start(emulator.Options{})   // serving on return
//	defer e.Close()
//	// fabric-sdk-go: endpoint e.URL(); azidentity: Cloud.ActiveDirectoryAuthorityHost = e.AuthorityHost(),
//	// DisableInstanceDiscovery: true, Transport: e.HTTPClient(); credentials from e.ServicePrincipal().
//
// Use from a command: a Config registers the emulator's flags on a *pflag.FlagSet and turns them into Options,
// reading the --fixtures and --faults files:
//
//	var cfg emulator.Config
//	cfg.RegisterFlags(cmd.Flags())
//	...
//	opts, err := cfg.Options()       // errors name the flag at fault
//	e, err := emulator.Start(opts)
//	fmt.Fprint(stdout, e.Info().Banner())
//
// docs/emulator.md lists every endpoint and every deliberate difference from the real services.
package emulator
