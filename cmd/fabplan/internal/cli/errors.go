package cli

import "errors"

// Exit codes. Every command lists the ones it uses in its help.
const (
	ExitOK      = 0 // success
	ExitError   = 1 // the command failed (a Fabric call, a rollback, I/O)
	ExitUsage   = 2 // bad flags or arguments, or a plan that does not evaluate or validate
	ExitChanges = 2 // `plan --detailed-exitcode`: the plan has changes
)

// UsageError is a problem with the command line; the usage line is printed with it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError.
func Usagef(err error) error { return &UsageError{Err: err} }

// ExitCodeError ends the command with a given code and, if Err is set, prints it.
type ExitCodeError struct {
	Code int
	Err  error
}

func (e *ExitCodeError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}
func (e *ExitCodeError) Unwrap() error { return e.Err }

// IsSilent reports whether err only carries an exit code.
func IsSilent(err error) bool {
	var ec *ExitCodeError
	return errors.As(err, &ec) && ec.Err == nil
}
