// Package statetest runs Azurite, Microsoft's Azure Storage emulator, for tests of blob state, and
// a fault-injecting loopback proxy to put in front of it.
//
// Azurite is an npm package. It is installed, once, into the repository's git-ignored .tools/azurite
// folder with npm when it is missing (make test needs nothing else on a machine with Go and
// Node.js). Where npm is missing the tests that need Azurite fail, saying how to install it, unless
// FABPLAN_AZURITE=skip says that skipping them is fine; FABPLAN_AZURITE=/path/to/azurite-blob uses
// an Azurite installed elsewhere.
package statetest
