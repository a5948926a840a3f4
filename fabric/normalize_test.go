package fabric

import (
	"testing"
)

// A schedule's configuration is compared as Fabric keeps it: the same runs are the same schedule
// whatever the order of slots and days, a start with or without its UTC zone, the zone's case.
func TestScheduleConfigEqual(t *testing.T) {
	base := ScheduleConfig{Type: "Weekly", Start: "2026-01-01T00:00:00Z", End: "2027-01-01T00:00:00Z",
		TimeZone: "W. Europe Standard Time", Times: []string{"06:00", "18:00"}, Weekdays: []string{"Monday", "Friday"}}
	same := base
	same.Start, same.End = "2026-01-01T00:00:00", "2027-01-01T01:00:00+01:00"
	same.TimeZone = "w. europe standard time"
	same.Times, same.Weekdays = []string{"18:00", "06:00"}, []string{"Friday", "Monday"}
	if !base.Equal(same) {
		t.Errorf("%+v and %+v schedule the same runs", base, same)
	}
	for name, change := range map[string]func(*ScheduleConfig){
		"type":     func(c *ScheduleConfig) { c.Type = "Daily" },
		"start":    func(c *ScheduleConfig) { c.Start = "2026-01-01T00:00:01Z" },
		"end":      func(c *ScheduleConfig) { c.End = "2027-01-02T00:00:00Z" },
		"zone":     func(c *ScheduleConfig) { c.TimeZone = "UTC" },
		"times":    func(c *ScheduleConfig) { c.Times = []string{"06:00"} },
		"weekdays": func(c *ScheduleConfig) { c.Weekdays = []string{"Monday", "Sunday"} },
		"interval": func(c *ScheduleConfig) { c.Interval = 5 },
		"occurrence": func(c *ScheduleConfig) {
			c.Occurrence = &ScheduleOccurrence{Type: "DayOfMonth", DayOfMonth: 1}
		},
		"recurrence": func(c *ScheduleConfig) { c.Recurrence = 2 },
	} {
		other := base
		other.Times, other.Weekdays = append([]string(nil), base.Times...), append([]string(nil), base.Weekdays...)
		change(&other)
		if base.Equal(other) {
			t.Errorf("a different %s is the same schedule", name)
		}
	}
	// Normalizing leaves the configuration it was given untouched: a restore sends it as it was.
	if base.Normalized(); base.Times[0] != "06:00" || base.Weekdays[0] != "Monday" || same.Times[0] != "18:00" {
		t.Errorf("Normalized changed its receiver: %+v %+v", base, same)
	}
	if got := ScheduleTime("2026-06-01T12:30"); got != "2026-06-01T12:30:00Z" {
		t.Errorf("ScheduleTime without seconds = %q", got)
	}
	if got := ScheduleTime("tomorrow"); got != "" {
		t.Errorf("ScheduleTime(tomorrow) = %q, want none", got)
	}
}

// A shortcut's target is compared as Fabric answers it: ids in any case, the leading slash Fabric
// adds to an ADLS subpath, a location's trailing slash.
func TestShortcutTargetNormalized(t *testing.T) {
	sent := ShortcutTarget{Type: ShortcutAdlsGen2, Location: "https://a.dfs.core.windows.net/", Subpath: "c/raw",
		ConnectionID: "4C5D6E7F-0000-4000-8000-00000000C011"}
	found := ShortcutTarget{Type: ShortcutAdlsGen2, Location: "https://a.dfs.core.windows.net", Subpath: "/c/raw",
		ConnectionID: "4c5d6e7f-0000-4000-8000-00000000c011"}
	if why := ShortcutMismatch(Shortcut{Target: found}, Shortcut{Target: sent}); why != "" {
		t.Errorf("same target: %s", why)
	}
	found.Subpath = "/c/raw2"
	if why := ShortcutMismatch(Shortcut{Target: found}, Shortcut{Target: sent}); why == "" {
		t.Error("another subpath is not the same target")
	}
	if why := ShortcutMismatch(Shortcut{Target: sent, QueryAcceleration: true}, Shortcut{Target: sent}); why == "" {
		t.Error("query acceleration is part of a KQL table shortcut")
	}
}
