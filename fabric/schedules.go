package fabric

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/microsoft/fabric-sdk-go/fabric/core"
)

// ScheduleConfig is a job schedule's configuration with the spec's field names: Cron (Interval
// minutes), Daily (Times), Weekly (Times, Weekdays) or Monthly (Recurrence, Occurrence, Times),
// between Start and End (UTC) in the Windows time zone TimeZone.
type ScheduleConfig struct {
	Type       string              `json:"type"`
	Start      string              `json:"startDateTime"`
	End        string              `json:"endDateTime"`
	TimeZone   string              `json:"localTimeZoneId"`
	Interval   int                 `json:"interval,omitempty"`
	Times      []string            `json:"times,omitempty"`
	Weekdays   []string            `json:"weekdays,omitempty"`
	Recurrence int                 `json:"recurrence,omitempty"`
	Occurrence *ScheduleOccurrence `json:"occurrence,omitempty"`
}

// ScheduleOccurrence is the day of the month a Monthly schedule runs on: a date (DayOfMonth) or an
// ordinal weekday (OrdinalWeekday: WeekIndex First to Fifth, Weekday).
type ScheduleOccurrence struct {
	Type       string `json:"occurrenceType"`
	DayOfMonth int    `json:"dayOfMonth,omitempty"`
	WeekIndex  string `json:"weekIndex,omitempty"`
	Weekday    string `json:"weekday,omitempty"`
}

// value is the occurrence to compare by (the zero value for none).
func (o *ScheduleOccurrence) value() ScheduleOccurrence {
	if o == nil {
		return ScheduleOccurrence{}
	}
	return *o
}

// String shows the occurrence in plans: "day 10", "First Monday".
func (o *ScheduleOccurrence) String() string {
	switch {
	case o == nil:
		return ""
	case o.Type == "DayOfMonth":
		return fmt.Sprintf("day %d", o.DayOfMonth)
	case o.Type == "OrdinalWeekday":
		return o.WeekIndex + " " + o.Weekday
	}
	return o.Type
}

// Schedule is an item's job schedule. ExecutionData (parameters some job types take) is kept as
// Fabric returned it, so that a restore sends it back unchanged.
type Schedule struct {
	ID            string         `json:"id"`
	JobType       string         `json:"job_type"`
	Enabled       bool           `json:"enabled"`
	Config        ScheduleConfig `json:"configuration"`
	Created       time.Time      `json:"created"`
	ExecutionData any            `json:"execution_data,omitempty"`
}

// ScheduleTime is a schedule's start or end as Fabric keeps it: UTC, to the second,
// YYYY-MM-DDTHH:mm:ssZ. A time without a zone is UTC; "" when s is not a date and time.
func ScheduleTime(s string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
		}
	}
	return ""
}

// Normalized is the configuration as Fabric compares it: times in UTC to the second, time slots
// and weekdays in order (a set each), the time zone without regard to case.
func (c ScheduleConfig) Normalized() ScheduleConfig {
	if t := ScheduleTime(c.Start); t != "" {
		c.Start = t
	}
	if t := ScheduleTime(c.End); t != "" {
		c.End = t
	}
	c.TimeZone = strings.ToLower(c.TimeZone)
	c.Times = slices.Sorted(slices.Values(c.Times))
	days := []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	wd := slices.Clone(c.Weekdays)
	slices.SortFunc(wd, func(a, b string) int { return slices.Index(days, a) - slices.Index(days, b) })
	c.Weekdays = wd
	return c
}

// Equal reports whether two configurations schedule the same runs.
func (c ScheduleConfig) Equal(o ScheduleConfig) bool {
	a, b := c.Normalized(), o.Normalized()
	return a.Type == b.Type && a.Start == b.Start && a.End == b.End && a.TimeZone == b.TimeZone &&
		a.Interval == b.Interval && slices.Equal(a.Times, b.Times) && slices.Equal(a.Weekdays, b.Weekdays) &&
		a.Recurrence == b.Recurrence && a.Occurrence.value() == b.Occurrence.value()
}

// sdk converts the configuration to fabric-sdk-go's type for it, through the spec's JSON that
// both share.
func (c ScheduleConfig) sdk() (core.ScheduleConfigClassification, error) {
	if t := ScheduleTime(c.Start); t != "" {
		c.Start = t
	}
	if t := ScheduleTime(c.End); t != "" {
		c.End = t
	}
	var out core.ScheduleConfigClassification
	switch c.Type {
	case "Cron":
		out = &core.CronScheduleConfig{}
	case "Daily":
		out = &core.DailyScheduleConfig{}
	case "Weekly":
		out = &core.WeeklyScheduleConfig{}
	case "Monthly":
		out = &core.MonthlyScheduleConfig{}
	default:
		return nil, fmt.Errorf("schedule type %q is not Cron, Daily, Weekly or Monthly", c.Type)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return out, json.Unmarshal(b, out)
}

func fromSDKSchedule(jobType string, s core.ItemSchedule) Schedule {
	out := Schedule{ID: str(s.ID), JobType: jobType, Enabled: s.Enabled != nil && *s.Enabled, ExecutionData: s.ExecutionData}
	if s.CreatedDateTime != nil {
		out.Created = *s.CreatedDateTime
	}
	if s.Configuration != nil {
		if b, err := json.Marshal(s.Configuration); err == nil {
			_ = json.Unmarshal(b, &out.Config) // the SDK's own JSON of the spec's type: always our shape
		}
		out.Config.Start, out.Config.End = ScheduleTime(out.Config.Start), ScheduleTime(out.Config.End)
	}
	return out
}

// ListSchedules lists an item's schedules of one job type, oldest first.
func (c *Client) ListSchedules(ctx context.Context, ws, item, jobType string) ([]Schedule, error) {
	list, err := c.schedules.ListItemSchedules(withCall(ctx, "ListSchedules"), ws, item, jobType, nil)
	out, err := convertAll(list, err, func(s core.ItemSchedule) Schedule { return fromSDKSchedule(jobType, s) })
	slices.SortStableFunc(out, func(a, b Schedule) int { return a.Created.Compare(b.Created) })
	return out, err
}

// CreateSchedule creates a schedule. A schedule has no name to look it up by: after an uncertain
// answer, a schedule of the job that is not among known (the ids listed before) and has this
// configuration and state is taken as this create's; any other is not.
func (c *Client) CreateSchedule(ctx context.Context, ws, item, jobType string, enabled bool, cfg ScheduleConfig,
	known []string) (Schedule, error) {
	sdkCfg, err := cfg.sdk()
	if err != nil {
		return Schedule{}, err
	}
	return createReconciled(ctx, c, "CreateSchedule", fmt.Sprintf("a %s schedule of item %s in workspace %s", jobType, item, ws),
		func(ctx context.Context) (Schedule, bool, error) {
			return c.FindNewSchedule(ctx, ws, item, jobType, enabled, cfg, known)
		},
		func(context.Context, Schedule) (string, error) { return "", nil },
		func(ctx context.Context) (Schedule, error) {
			r, err := c.schedules.CreateItemSchedule(ctx, ws, item, jobType,
				core.CreateScheduleRequest{Enabled: &enabled, Configuration: sdkCfg}, nil)
			if err != nil {
				return Schedule{}, err
			}
			return fromSDKSchedule(jobType, r.ItemSchedule), nil
		})
}

// FindNewSchedule finds a schedule of the job, not among known, with this state and configuration:
// the evidence that a create whose answer was lost made it.
func (c *Client) FindNewSchedule(ctx context.Context, ws, item, jobType string, enabled bool, cfg ScheduleConfig,
	known []string) (Schedule, bool, error) {
	all, err := c.ListSchedules(ctx, ws, item, jobType)
	return findFirst(all, err, func(s Schedule) bool {
		return !slices.ContainsFunc(known, func(id string) bool { return strings.EqualFold(id, s.ID) }) &&
			s.Enabled == enabled && s.Config.Equal(cfg)
	})
}

// UpdateSchedule sets a schedule's state, configuration and execution data (nil: unchanged).
func (c *Client) UpdateSchedule(ctx context.Context, ws, item, jobType, id string, enabled bool, cfg ScheduleConfig,
	executionData any) (Schedule, error) {
	sdkCfg, err := cfg.sdk()
	if err != nil {
		return Schedule{}, err
	}
	r, err := c.schedules.UpdateItemSchedule(withCall(ctx, "UpdateSchedule"), ws, item, jobType, id,
		core.UpdateScheduleRequest{Enabled: &enabled, Configuration: sdkCfg, ExecutionData: executionData}, nil)
	if err != nil {
		return Schedule{}, err
	}
	return fromSDKSchedule(jobType, r.ItemSchedule), nil
}

// DeleteSchedule deletes a schedule; the runs it started are untouched.
func (c *Client) DeleteSchedule(ctx context.Context, ws, item, jobType, id string) error {
	_, err := c.schedules.DeleteItemSchedule(withCall(ctx, "DeleteSchedule"), ws, item, jobType, id, nil)
	return err
}
