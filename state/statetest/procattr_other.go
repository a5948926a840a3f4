//go:build !linux

package statetest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
