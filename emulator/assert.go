package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// The interfaces the emulator's types implement, checked at compile time.
var (
	_ http.Handler        = (*Emulator)(nil)
	_ http.ResponseWriter = (*statusWriter)(nil)
	_ http.ResponseWriter = (*discardWriter)(nil)
	_ http.Hijacker       = (*discardWriter)(nil)
	_ error               = (*apiError)(nil)
	_ json.Marshaler      = FaultConfig{}
	_ json.Unmarshaler    = (*FaultConfig)(nil)
	_ fmt.Stringer        = role(0)
)
