package cli

import "errors"

// Confirm asks question on a terminal (default no); without a terminal it refuses with needsYes,
// since only --yes can answer. A "no" is a usage error: nothing was done.
func (f *Factory) Confirm(question, needsYes string, yes bool) error {
	if yes {
		return nil
	}
	if !f.IO.Interactive {
		return Usagef(errors.New(needsYes + ": pass --yes"))
	}
	if !f.IO.Confirm(question+" [y/N] ", "y", "yes") {
		return &ExitCodeError{Code: ExitUsage, Err: errors.New("cancelled: nothing was changed")}
	}
	return nil
}
