package cli

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/state"
)

// A command's throttle starts from the rate the identity's last run learned, kept in the state,
// and what this command learns is kept when it ends, for the next.
func TestThrottleStartsWhereTheLastRunLeftOff(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func() (*Factory, *fabric.Client) {
		io, _, _ := Test()
		f := NewFactory(io, "test")
		f.Getenv = func(string) string { return "" }
		f.Emulator, f.StateLoc = true, dir
		c, err := f.Client()
		if err != nil {
			t.Fatal(err)
		}
		return f, c
	}

	// The first command: nothing learned; it keeps what passed.
	f, c := open()
	target, err := f.Target(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Runtime(ctx, c); err != nil {
		t.Fatal(err)
	}
	if r := c.Throttle().Rate(); r != 20 {
		t.Fatalf("first command starts at %v, want the default 20/s", r)
	}
	for range 3 {
		if _, err := c.ListWorkspaces(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	name := throttleMetaName(target)
	data, err := state.NewLocal(dir).ReadMeta(ctx, name)
	if err != nil {
		t.Fatalf("nothing kept for the next run: %v", err)
	}
	var l fabric.Learned
	if err := json.Unmarshal(data, &l); err != nil || l.Limited || l.Rate < 1 {
		t.Fatalf("kept %s (%v), want the requests/s that passed, unrefused", data, err)
	}

	// A limit learned earlier is where the next command starts. (Each embedded emulator listens on
	// a port of its own, hence a target, and a document, of its own.)
	f, c = open()
	defer f.Close()
	if target, err = f.Target(ctx, c); err != nil {
		t.Fatal(err)
	}
	kept, _ := json.Marshal(fabric.Learned{Rate: 37.5, Limited: true, At: time.Now()})
	if err := state.NewLocal(dir).WriteMeta(ctx, throttleMetaName(target), kept); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Runtime(ctx, c); err != nil {
		t.Fatal(err)
	}
	if r := c.Throttle().Rate(); r != 37.5 {
		t.Fatalf("second command starts at %v, want the 37.5/s the last run learned", r)
	}
}
