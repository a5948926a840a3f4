package builtins

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// fabric.schedule: the job schedule of an item (a notebook run, a pipeline run...), every so many
// minutes (Cron), at times of the day (Daily), of chosen weekdays (Weekly) or of one day every so many
// months (Monthly), between a start and an end. A schedule has no name: the plan declares one per item
// and job type.

// scheduleWeekdays are the weekdays a Weekly schedule takes, in the week's order.
func scheduleWeekdays() []string {
	return []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
}

// defaultJobTypes are the job types a schedule runs when the plan names none.
func defaultJobTypes() map[string]string {
	return map[string]string{"Notebook": "RunNotebook", "DataPipeline": "Pipeline", "SparkJobDefinition": "sparkjob",
		"CopyJob": "CopyJob"}
}

// scheduleWeekIndexes are the weeks of the month an ordinal-weekday Monthly schedule takes.
func scheduleWeekIndexes() []string { return []string{"First", "Second", "Third", "Fourth", "Fifth"} }

const maxScheduleInterval = 5270400 // minutes: ten years, the spec's bound

type scheduleBuiltin struct{}

func (scheduleBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.schedule",
		Doc: "The job schedule of an item: every interval minutes (Cron), at times of the day (Daily), at times " +
			"on weekdays (Weekly), or at times on one day of every months-th month (Monthly: day_of_month, or " +
			"week_of_month with weekday), from start to end. One per item and job type; a change updates it in place.",
		Params: []Param{
			{Name: "item", Type: "item", Required: true, Doc: "The scheduled item, from fabric.item(...)."},
			{Name: "job_type", Type: "string", Doc: "The job to run; default RunNotebook (Notebook), Pipeline (DataPipeline), sparkjob (SparkJobDefinition), CopyJob (CopyJob); required for other types."},
			{Name: "interval", Type: "int", Doc: "Cron: run every this many minutes (1 to 5270400)."},
			{Name: "times", Type: "list", Doc: "Daily, Weekly or Monthly: the times of day to run, \"hh:mm\" (1 to 100)."},
			{Name: "weekdays", Type: "list", Doc: "Weekly: the days to run on, Monday to Sunday (with times)."},
			{Name: "day_of_month", Type: "int", Doc: "Monthly: the date to run on, 1 to 31 (with times); a month without it is skipped."},
			{Name: "week_of_month", Type: "string", Enum: scheduleWeekIndexes(), Doc: "Monthly: the week of the month to run in (with weekday and times), instead of day_of_month."},
			{Name: "weekday", Type: "string", Enum: scheduleWeekdays(), Doc: "Monthly: the day of week_of_month to run on, e.g. First Monday."},
			{Name: "months", Type: "int", Doc: "Monthly: run every this many months, 1 to 12 (default 1)."},
			{Name: "start", Type: "string", Required: true, Doc: "When the schedule starts, UTC: 2026-01-01T00:00:00Z (a time without zone is UTC)."},
			{Name: "end", Type: "string", Required: true, Doc: "When it ends, after start, UTC."},
			{Name: "time_zone", Type: "string", Doc: "The Windows time zone the times of day are in, e.g. \"W. Europe Standard Time\"; default UTC."},
			{Name: "enabled", Type: "bool", Doc: "Whether the schedule runs (default True); False keeps it, paused."},
		},
		OneOf: [][]string{{"interval", "times"}},
		// The type is not among them: it decides which of the others a schedule has.
		Updatable: []string{"interval", "times", "weekdays", "monthly", "start", "end", "time_zone", "enabled"},
	}
}

func (scheduleBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	h := c.handle("item")
	itemType, workspace := itemOf(h)
	fail := func(format string, args ...any) (starlark.Value, error) {
		return nil, fmt.Errorf("fabric.schedule: "+format, args...)
	}
	r := &scheduleResource{pos: c.pos, item: h.addr, workspace: workspace, jobType: c.str("job_type"), enabled: true}
	if c.has("enabled") {
		r.enabled = c.boolean("enabled")
	}
	if r.jobType == "" {
		if r.jobType = defaultJobTypes()[itemType]; r.jobType == "" {
			return fail("a %s has no default job type; give job_type", itemType)
		}
	}
	cfg := &r.config
	cfg.TimeZone = c.str("time_zone")
	if cfg.TimeZone == "" {
		cfg.TimeZone = "UTC"
	}
	cfg.Start, cfg.End = fabric.ScheduleTime(c.str("start")), fabric.ScheduleTime(c.str("end"))
	if cfg.Start == "" {
		return fail("start %q is not a date and time like 2026-01-01T00:00:00Z", c.str("start"))
	}
	if cfg.End == "" {
		return fail("end %q is not a date and time like 2027-01-01T00:00:00Z", c.str("end"))
	}
	if cfg.End <= cfg.Start {
		return fail("end %s is not after start %s", cfg.End, cfg.Start)
	}
	if c.has("interval") {
		if c.has("weekdays") {
			return fail("weekdays go with times (Weekly), not with interval (Cron)")
		}
		if monthlyParam(c) != "" {
			return fail("%s goes with times (Monthly), not with interval (Cron)", monthlyParam(c))
		}
		n, ok := c.value("interval").(starlark.Int).Int64()
		if !ok || n < 1 || n > maxScheduleInterval {
			return fail("interval %s is not a number of minutes from 1 to %d", c.value("interval"), maxScheduleInterval)
		}
		cfg.Type, cfg.Interval = "Cron", int(n)
	} else {
		times, err := stringList(c.value("times"))
		if err != nil {
			return fail("times: %v", err)
		}
		if len(times) < 1 || len(times) > 100 {
			return fail("times must list 1 to 100 times of day, \"hh:mm\"")
		}
		for _, t := range times {
			if !isHHMM(t) {
				return fail("time %q is not a time of day hh:mm (00:00 to 23:59)", t)
			}
		}
		cfg.Type, cfg.Times = "Daily", times
		if c.has("weekdays") {
			days, err := stringList(c.value("weekdays"))
			if err != nil {
				return fail("weekdays: %v", err)
			}
			if len(days) < 1 || len(days) > 7 {
				return fail("weekdays must list 1 to 7 days, Monday to Sunday")
			}
			for i, d := range days {
				if !slices.Contains(scheduleWeekdays(), d) {
					return fail("weekday %q is not one of %s%s", d, strings.Join(scheduleWeekdays(), ", "), suggest(d, scheduleWeekdays()))
				}
				if slices.Contains(days[:i], d) {
					return fail("weekday %s is listed twice", d)
				}
			}
			cfg.Type, cfg.Weekdays = "Weekly", days
		}
		if monthlyParam(c) != "" {
			if err := monthly(c, cfg); err != nil {
				return fail("%v", err)
			}
		}
	}
	r.addr = h.addr.Join(engine.Segment("schedule", r.jobType))
	ev.add(r)
	return newHandle("schedule", r.addr, starlark.StringDict{"job_type": starlark.String(r.jobType)}, r), nil
}

// monthlyParam is the first Monthly parameter a call gives, "" when none.
func monthlyParam(c *call) string {
	for _, p := range []string{"day_of_month", "week_of_month", "weekday", "months"} {
		if c.has(p) {
			return p
		}
	}
	return ""
}

// monthly makes cfg (times already set) a Monthly configuration from the call's day_of_month, or
// week_of_month and weekday, and months.
func monthly(c *call, cfg *fabric.ScheduleConfig) error {
	if c.has("weekdays") {
		return fmt.Errorf("weekdays is for a Weekly schedule; a Monthly one runs on day_of_month, " +
			"or week_of_month with weekday")
	}
	occ := &fabric.ScheduleOccurrence{}
	switch {
	case c.has("day_of_month") && (c.has("week_of_month") || c.has("weekday")):
		return fmt.Errorf("give day_of_month, or week_of_month with weekday, not both")
	case c.has("day_of_month"):
		d, ok := c.value("day_of_month").(starlark.Int).Int64()
		if !ok || d < 1 || d > 31 {
			return fmt.Errorf("day_of_month %s is not a day from 1 to 31", c.value("day_of_month"))
		}
		occ.Type, occ.DayOfMonth = "DayOfMonth", int(d)
	case c.has("week_of_month") && c.has("weekday"):
		occ.Type, occ.WeekIndex, occ.Weekday = "OrdinalWeekday", c.str("week_of_month"), c.str("weekday")
	case c.has("week_of_month") || c.has("weekday"):
		return fmt.Errorf("week_of_month and weekday go together, e.g. week_of_month = \"First\", weekday = \"Monday\"")
	default:
		return fmt.Errorf("a Monthly schedule needs day_of_month, or week_of_month with weekday")
	}
	n := int64(1)
	if c.has("months") {
		var ok bool
		if n, ok = c.value("months").(starlark.Int).Int64(); !ok || n < 1 || n > 12 {
			return fmt.Errorf("months %s is not a number of months from 1 to 12", c.value("months"))
		}
	}
	cfg.Type, cfg.Recurrence, cfg.Occurrence = "Monthly", int(n), occ
	return nil
}

func isHHMM(s string) bool {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	return ok && len(h) == 2 && len(m) == 2 && err1 == nil && err2 == nil && hh >= 0 && hh < 24 && mm >= 0 && mm < 60
}

type scheduleResource struct {
	addr      engine.Addr
	pos       engine.Pos
	item      engine.Addr
	workspace engine.Addr // the item's
	jobType   string
	enabled   bool
	config    fabric.ScheduleConfig
}

var _ engine.Resource = (*scheduleResource)(nil)

func (r *scheduleResource) Addr() engine.Addr                          { return r.addr }
func (r *scheduleResource) Kind() string                               { return "schedule" }
func (r *scheduleResource) Pos() engine.Pos                            { return r.pos }
func (r *scheduleResource) Deps() []engine.Addr                        { return []engine.Addr{r.item} }
func (r *scheduleResource) Validate(*engine.Graph) []engine.Diagnostic { return nil }

// scheduleLive is what refresh found: the schedule the plan's declaration stands for, and the ids
// of every schedule of the job (a create's evidence is a schedule not among them).
type scheduleLive struct {
	Schedule fabric.Schedule
	Known    []string
}

// Refresh finds the item's schedules of the job. The plan declares one: a schedule that is already
// as declared is it; otherwise the oldest is the one to update. Others of the job are left alone.
func (r *scheduleResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	wsID, itemID := rt.ID(r.workspace), rt.ID(r.item)
	if itemID == "" {
		return engine.Live{}, nil
	}
	all, err := rt.Client.ListSchedules(ctx, wsID, itemID, r.jobType)
	if err != nil {
		return engine.Live{}, err
	}
	if len(all) == 0 {
		return engine.Live{}, nil
	}
	chosen := all[0]
	for _, s := range all {
		if s.Enabled == r.enabled && s.Config.Equal(r.config) {
			chosen = s
			break
		}
	}
	known := make([]string, len(all))
	for i, s := range all {
		known[i] = s.ID
	}
	return engine.Live{Exists: true, ID: chosen.ID, Data: scheduleLive{Schedule: chosen, Known: known},
		Attrs: scheduleAttrs(chosen.Enabled, chosen.Config)}, nil
}

// scheduleAttrs are a schedule's attributes as plans show them.
func scheduleAttrs(enabled bool, c fabric.ScheduleConfig) map[string]string {
	zone := c.TimeZone
	c = c.Normalized()
	a := map[string]string{"enabled": strconv.FormatBool(enabled), "type": c.Type, "start": c.Start, "end": c.End,
		"time_zone": zone}
	if c.Interval != 0 {
		a["interval"] = strconv.Itoa(c.Interval)
	}
	if len(c.Times) > 0 {
		a["times"] = strings.Join(c.Times, ", ")
	}
	if len(c.Weekdays) > 0 {
		a["weekdays"] = strings.Join(c.Weekdays, ", ")
	}
	if c.Recurrence != 0 || c.Occurrence != nil {
		a["monthly"] = monthlyLabel(c.Recurrence, c.Occurrence)
	}
	return a
}

// monthlyLabel shows when a Monthly schedule runs: "day 10 of every month", "First Monday of every
// 3rd month".
func monthlyLabel(months int, occ *fabric.ScheduleOccurrence) string {
	every := "every month"
	if months != 1 {
		every = "every " + strconv.Itoa(months) + ordinalSuffix(months) + " month"
	}
	return occ.String() + " of " + every
}

func ordinalSuffix(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return "th"
	case n%10 == 1:
		return "st"
	case n%10 == 2:
		return "nd"
	case n%10 == 3:
		return "rd"
	}
	return "th"
}

var scheduleAttrOrder = []string{"type", "interval", "times", "weekdays", "monthly", "start", "end", "time_zone", "enabled"}

func (r *scheduleResource) Diff(live engine.Live, _ *engine.Runtime) engine.Change {
	want := scheduleAttrs(r.enabled, r.config)
	var attrs []engine.AttrChange
	for _, k := range scheduleAttrOrder {
		if want[k] == "" && live.Attrs[k] == "" {
			continue
		}
		attrs = append(attrs, engine.AttrChange{Name: k, Old: live.Attrs[k], New: want[k]})
	}
	if !live.Exists {
		for i := range attrs {
			attrs[i].Old = ""
		}
		return engine.Change{Action: engine.Create, Attrs: append(attrs, engine.AttrChange{Name: "id", Unknown: true})}
	}
	found := live.Data.(scheduleLive).Schedule
	ch := engine.Change{Action: engine.NoOp, Attrs: attrs}
	if found.Enabled != r.enabled || !found.Config.Equal(r.config) {
		ch.Action = engine.Update
		return ch
	}
	for i := range ch.Attrs { // equal as Fabric compares them (a time zone's case): shown as they are
		ch.Attrs[i].New = ch.Attrs[i].Old
	}
	return ch
}

// scheduleUndo is the argument of the schedule undo operations: the schedule a create sent (with
// the ids that existed before it, for a create whose answer was lost) or the one an update changed,
// exactly as it was.
type scheduleUndo struct {
	WorkspaceID string                 `json:"workspace_id"`
	ItemID      string                 `json:"item_id"`
	JobType     string                 `json:"job_type"`
	ID          string                 `json:"id,omitempty"`
	Enabled     bool                   `json:"enabled,omitempty"`
	Sent        *fabric.ScheduleConfig `json:"sent,omitempty"`
	Known       []string               `json:"known,omitempty"`
	Previous    *fabric.Schedule       `json:"previous,omitempty"`
}

func (r *scheduleResource) Apply(ctx context.Context, rt *engine.Runtime, ch *engine.Change, intent func(engine.Undo) error) (engine.Applied, error) {
	wsID, itemID := rt.ID(r.workspace), rt.ID(r.item)
	switch ch.Action {
	case engine.Create:
		u := scheduleUndo{WorkspaceID: wsID, ItemID: itemID, JobType: r.jobType, Enabled: r.enabled, Sent: &r.config}
		s, err := createJournalled(intent, engine.NewUndo("schedule.delete", u), func() (fabric.Schedule, error) {
			return rt.Client.CreateSchedule(ctx, wsID, itemID, r.jobType, r.enabled, r.config, nil)
		})
		if err != nil {
			return engine.Applied{}, err
		}
		u.ID = s.ID
		return engine.Applied{ID: s.ID, Undo: engine.NewUndo("schedule.delete", u)}, nil
	case engine.Update:
		prev := ch.Live.Data.(scheduleLive).Schedule
		undo := engine.NewUndo("schedule.restore", scheduleUndo{WorkspaceID: wsID, ItemID: itemID, JobType: r.jobType,
			ID: prev.ID, Previous: &prev})
		if err := intent(undo); err != nil {
			return engine.Applied{}, err
		}
		enabled, cfg := r.keepIgnored(ch, prev)
		if _, err := rt.Client.UpdateSchedule(ctx, wsID, itemID, r.jobType, prev.ID, enabled, cfg, nil); err != nil {
			return engine.Applied{}, err
		}
		return engine.Applied{ID: prev.ID, Undo: undo}, nil
	}
	return engine.Applied{}, fmt.Errorf("schedule: cannot %s", ch.Action)
}

// keepIgnored is the state and configuration an update sends: the plan's, except attributes the
// update is not to set (ignore_changes), which keep their live values. An update sends the whole
// configuration, so those must be sent as they are.
func (r *scheduleResource) keepIgnored(ch *engine.Change, prev fabric.Schedule) (bool, fabric.ScheduleConfig) {
	enabled, cfg := r.enabled, r.config
	live := map[string]func(){
		"enabled":   func() { enabled = prev.Enabled },
		"interval":  func() { cfg.Interval = prev.Config.Interval },
		"times":     func() { cfg.Times = prev.Config.Times },
		"weekdays":  func() { cfg.Weekdays = prev.Config.Weekdays },
		"monthly":   func() { cfg.Recurrence, cfg.Occurrence = prev.Config.Recurrence, prev.Config.Occurrence },
		"start":     func() { cfg.Start = prev.Config.Start },
		"end":       func() { cfg.End = prev.Config.End },
		"time_zone": func() { cfg.TimeZone = prev.Config.TimeZone },
	}
	for name, keep := range live {
		if !ch.Wants(name) {
			keep()
		}
	}
	return enabled, cfg
}

func (scheduleBuiltin) UndoOps() engine.UndoRegistry {
	return engine.UndoRegistry{
		"schedule.delete": undoOp(func(ctx context.Context, rt *engine.Runtime, u scheduleUndo) error {
			what := fmt.Sprintf("the %s schedule of item %s in workspace %s", u.JobType, u.ItemID, u.WorkspaceID)
			return deleteCreated("DeleteSchedule", what, u.ID, func() (string, string, bool, error) {
				if u.Sent == nil {
					return "", "", false, nil
				}
				s, ok, err := rt.Client.FindNewSchedule(ctx, u.WorkspaceID, u.ItemID, u.JobType, u.Enabled, *u.Sent, u.Known)
				return s.ID, "", ok, err
			}, func(id string) error { return rt.Client.DeleteSchedule(ctx, u.WorkspaceID, u.ItemID, u.JobType, id) })
		}),
		"schedule.restore": undoOp(func(ctx context.Context, rt *engine.Runtime, u scheduleUndo) error {
			p := u.Previous
			_, err := rt.Client.UpdateSchedule(ctx, u.WorkspaceID, u.ItemID, u.JobType, u.ID, p.Enabled, p.Config, p.ExecutionData)
			return err
		}),
	}
}

// previewSchedule reads the schedule an undo acts on: by id, or (a create whose answer was lost)
// as a schedule the run may have made.
func previewSchedule(ctx context.Context, rt *engine.Runtime, u scheduleUndo, pv *engine.UndoPreview) error {
	all, err := rt.Client.ListSchedules(ctx, u.WorkspaceID, u.ItemID, u.JobType)
	if err = ignoreNotFound(err); err != nil {
		return err
	}
	for _, s := range all {
		if strings.EqualFold(s.ID, u.ID) || u.ID == "" && u.Sent != nil && !slices.Contains(u.Known, s.ID) &&
			s.Enabled == u.Enabled && s.Config.Equal(*u.Sent) {
			pv.Exists, pv.ID, pv.Live = true, s.ID, scheduleAttrs(s.Enabled, s.Config)
			return nil
		}
	}
	return nil
}
