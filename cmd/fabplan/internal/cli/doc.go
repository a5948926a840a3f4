// Package cli holds what every fabplan command shares: the IO streams, the Factory that hands
// out clients lazily, and the error types that map to exit codes (see root.ExitCode).
package cli
