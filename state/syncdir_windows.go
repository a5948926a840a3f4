package state

// syncDir does nothing on Windows, where directories cannot be opened for syncing and NTFS journals
// their entries itself.
func syncDir(string) error { return nil }
