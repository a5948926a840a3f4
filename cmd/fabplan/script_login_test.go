package main

import (
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// emulatorDeviceCode plays the user at the browser: it waits until a device code is pending, then
// approves it (as UPN, default the fixtures' device-code user) or declines it.
//
// usage: emulator-devicecode approve|decline [UPN]
func emulatorDeviceCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 || (args[0] != "approve" && args[0] != "decline") {
		ts.Fatalf("usage: emulator-devicecode approve|decline [UPN]")
	}
	emu := emulatorOf(ts)
	deadline := time.Now().Add(30 * time.Second)
	for len(emu.DeviceCodes()) == 0 {
		if time.Now().After(deadline) {
			ts.Fatalf("no device code was requested within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	upn := ""
	if len(args) == 2 {
		upn = args[1]
	}
	ts.Check(emu.ApproveDeviceCode("", upn, args[0] == "decline"))
}
