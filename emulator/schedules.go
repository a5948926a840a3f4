package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// schedule is an item job schedule.
type schedule struct {
	ID            string         `json:"id"`
	JobType       string         `json:"jobType"`
	Enabled       bool           `json:"enabled"`
	Created       time.Time      `json:"created"`
	Configuration map[string]any `json:"configuration"`
	ExecutionData map[string]any `json:"executionData,omitempty"`
	OwnerID       string         `json:"ownerId"`
	OwnerType     string         `json:"ownerType"`
}

// maxSchedules is how many schedules one job of an item may have.
const maxSchedules = 20

// jobTypes are the job types an item type can be scheduled for (every type also takes DefaultJob).
func jobTypes(itemType string) []string {
	switch itemType {
	case "Notebook":
		return []string{"RunNotebook"}
	case "DataPipeline":
		return []string{"Pipeline", "Execute"}
	case "SparkJobDefinition":
		return []string{"sparkjob"}
	case "Lakehouse":
		return []string{"TableMaintenance", "RefreshMaterializedLakeViews"}
	case "CopyJob":
		return []string{"CopyJob"}
	case "Dataflow":
		return []string{"Refresh", "Execute"}
	}
	return nil
}

type scheduleJSON struct {
	ID              string         `json:"id"`
	Enabled         bool           `json:"enabled"`
	CreatedDateTime string         `json:"createdDateTime"`
	Configuration   map[string]any `json:"configuration"`
	ExecutionData   map[string]any `json:"executionData,omitempty"`
	Owner           struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"owner"`
}

// view copies a schedule for a response, which must not alias the state.
func (s *schedule) view() scheduleJSON {
	var v scheduleJSON
	b, _ := json.Marshal(map[string]any{"configuration": s.Configuration, "executionData": s.ExecutionData})
	json.Unmarshal(b, &v)
	v.ID, v.Enabled, v.CreatedDateTime = s.ID, s.Enabled, fabricTime(s.Created)
	v.Owner.ID, v.Owner.Type = s.OwnerID, s.OwnerType
	return v
}

// scheduledItem resolves the item and canonical job type of a schedules route.
func (c *call) scheduledItem(min role) (*workspace, *item, string, error) {
	ws, it, err := c.workspaceItem(min)
	if err != nil {
		return nil, nil, "", err
	}
	jt := c.r.PathValue("jobType")
	for _, known := range append(jobTypes(it.Type), "DefaultJob") {
		if strings.EqualFold(known, jt) {
			return ws, it, known, nil
		}
	}
	return nil, nil, "", badRequest("InvalidJobType", "Items of type %s have no job type '%s'", it.Type, truncate(jt, 64))
}

type scheduleRequest struct {
	Enabled       *bool          `json:"enabled"`
	Configuration map[string]any `json:"configuration"`
	ExecutionData map[string]any `json:"executionData"`
}

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// checkScheduleConfig validates a schedule configuration as the spec's ScheduleConfig describes it.
func checkScheduleConfig(cfg map[string]any) error {
	bad := func(field, msg string) error { return invalidField("configuration."+field, msg) }
	str := func(k string) string { s, _ := cfg[k].(string); return s }
	num := func(k string) (float64, bool) { f, ok := cfg[k].(float64); return f, ok }
	when := func(k string) (time.Time, error) {
		for _, layout := range []string{"2006-01-02T15:04:05", time.RFC3339Nano} {
			if t, err := time.Parse(layout, str(k)); err == nil {
				return t, nil
			}
		}
		return time.Time{}, bad(k, "must be a date and time like 2024-04-28T00:00:00")
	}
	start, err := when("startDateTime")
	if err != nil {
		return err
	}
	end, err := when("endDateTime")
	if err != nil {
		return err
	}
	// Kept in UTC in the YYYY-MM-DDTHH:mm:ssZ form the spec gives; a time without a zone is UTC.
	cfg["startDateTime"], cfg["endDateTime"] = start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339)
	if !end.After(start) {
		return bad("endDateTime", "must be after startDateTime")
	}
	if strings.TrimSpace(str("localTimeZoneId")) == "" {
		return bad("localTimeZoneId", "is required")
	}
	times := func() error {
		ts, _ := cfg["times"].([]any)
		if len(ts) < 1 || len(ts) > 100 {
			return bad("times", "must hold 1 to 100 time slots")
		}
		for _, x := range ts {
			if s, _ := x.(string); !hhmm.MatchString(s) {
				return bad("times", fmt.Sprintf("'%v' is not a time in the hh:mm format", x))
			}
		}
		return nil
	}
	days := []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	switch str("type") {
	case "Cron":
		if n, ok := num("interval"); !ok || n != float64(int(n)) || n < 1 || n > 5270400 {
			return bad("interval", "must be a whole number of minutes from 1 to 5270400")
		}
	case "Daily":
		return times()
	case "Weekly":
		wd, _ := cfg["weekdays"].([]any)
		if len(wd) < 1 || len(wd) > 7 {
			return bad("weekdays", "must hold 1 to 7 weekdays")
		}
		for _, d := range wd {
			if s, _ := d.(string); !slices.Contains(days, s) {
				return bad("weekdays", fmt.Sprintf("'%v' is not a weekday", d))
			}
		}
		return times()
	case "Monthly":
		if n, ok := num("recurrence"); !ok || n != float64(int(n)) || n < 1 || n > 12 {
			return bad("recurrence", "must be a whole number from 1 to 12")
		}
		occ, _ := cfg["occurrence"].(map[string]any)
		switch occ["occurrenceType"] {
		case "DayOfMonth":
			if d, ok := occ["dayOfMonth"].(float64); !ok || d != float64(int(d)) || d < 1 || d > 31 {
				return bad("occurrence.dayOfMonth", "must be a day from 1 to 31")
			}
		case "OrdinalWeekday":
			wi, _ := occ["weekIndex"].(string)
			wd, _ := occ["weekday"].(string)
			if !slices.Contains([]string{"First", "Second", "Third", "Fourth", "Fifth"}, wi) || !slices.Contains(days, wd) {
				return bad("occurrence", "needs weekIndex (First..Fifth) and weekday")
			}
		default:
			return bad("occurrence.occurrenceType", "must be DayOfMonth or OrdinalWeekday")
		}
		return times()
	default:
		return bad("type", "must be Cron, Daily, Weekly or Monthly")
	}
	return nil
}

func (c *call) decodeSchedule() (*scheduleRequest, error) {
	var req scheduleRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Enabled == nil || req.Configuration == nil {
		return nil, invalidField("enabled, configuration", "are required")
	}
	if err := checkScheduleConfig(req.Configuration); err != nil {
		return nil, err
	}
	return &req, nil
}

func (e *Emulator) listSchedules(c *call) (*response, error) {
	_, it, jt, err := c.scheduledItem(roleViewer)
	if err != nil {
		return nil, err
	}
	out := []scheduleJSON{}
	for _, s := range it.Schedules {
		if s.JobType == jt {
			out = append(out, s.view())
		}
	}
	return paged(c, out)
}

func (e *Emulator) createSchedule(c *call) (*response, error) {
	ws, it, jt, err := c.scheduledItem(roleContributor)
	if err != nil {
		return nil, err
	}
	req, err := c.decodeSchedule()
	if err != nil {
		return nil, err
	}
	n := 0
	for _, s := range it.Schedules {
		if s.JobType == jt {
			n++
		}
	}
	if n >= maxSchedules {
		return nil, badRequest("TooManySchedules", "An item job has at most %d schedules", maxSchedules)
	}
	s := &schedule{ID: e.newID(), JobType: jt, Enabled: *req.Enabled, Created: c.now, Configuration: req.Configuration,
		ExecutionData: req.ExecutionData, OwnerID: c.who.ID, OwnerType: c.who.Type}
	it.Schedules = append(it.Schedules, s)
	loc := e.base + "/v1/workspaces/" + ws.ID + "/items/" + it.ID + "/jobs/" + jt + "/schedules/" + s.ID
	return &response{status: http.StatusCreated, header: http.Header{"Location": {loc}}, body: s.view()}, nil
}

// addressedSchedule resolves .../schedules/{scheduleId}.
func (c *call) addressedSchedule(min role) (*item, int, error) {
	_, it, jt, err := c.scheduledItem(min)
	if err != nil {
		return nil, 0, err
	}
	id, err := c.pathID("scheduleId")
	if err != nil {
		return nil, 0, err
	}
	at := slices.IndexFunc(it.Schedules, func(s *schedule) bool { return s.ID == id && s.JobType == jt })
	if at < 0 {
		return nil, 0, notFound("EntityNotFound", "Schedule", id)
	}
	return it, at, nil
}

func (e *Emulator) getSchedule(c *call) (*response, error) {
	it, at, err := c.addressedSchedule(roleViewer)
	if err != nil {
		return nil, err
	}
	return ok(it.Schedules[at].view())
}

func (e *Emulator) updateSchedule(c *call) (*response, error) {
	it, at, err := c.addressedSchedule(roleContributor)
	if err != nil {
		return nil, err
	}
	req, err := c.decodeSchedule()
	if err != nil {
		return nil, err
	}
	s := it.Schedules[at]
	s.Enabled, s.Configuration, s.OwnerID, s.OwnerType = *req.Enabled, req.Configuration, c.who.ID, c.who.Type
	if req.ExecutionData != nil {
		s.ExecutionData = req.ExecutionData
	}
	return ok(s.view())
}

func (e *Emulator) deleteSchedule(c *call) (*response, error) {
	it, at, err := c.addressedSchedule(roleContributor)
	if err != nil {
		return nil, err
	}
	it.Schedules = slices.Delete(it.Schedules, at, at+1)
	return emptyOK()
}
