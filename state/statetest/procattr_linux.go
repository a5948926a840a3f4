package statetest

import "syscall"

// sysProcAttr stops Azurite with the test binary, even when that is killed.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
