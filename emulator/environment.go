package emulator

import "time"

// environment is an Environment's staged and published state.
type environment struct {
	Publish publishRecord `json:"publish"`
}

// publishRecord is the last publish of an environment.
type publishRecord struct {
	TargetVersion string    `json:"targetVersion"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	State         string    `json:"state"` // the final state; Running until End
}

type environmentPropertiesJSON struct {
	PublishDetails publishDetailsJSON `json:"publishDetails"`
}

type publishDetailsJSON struct {
	State                string               `json:"state"`
	TargetVersion        string               `json:"targetVersion"`
	StartTime            string               `json:"startTime"`
	EndTime              string               `json:"endTime,omitempty"`
	ComponentPublishInfo componentPublishInfo `json:"componentPublishInfo"`
}

type componentPublishInfo struct {
	SparkLibraries componentState `json:"sparkLibraries"`
	SparkSettings  componentState `json:"sparkSettings"`
}

type componentState struct {
	State string `json:"state"`
}

func (e *Emulator) environmentProperties(it *item) any {
	env := it.Env
	if env == nil {
		env = &environment{Publish: publishRecord{TargetVersion: it.LogicalID, Start: it.Created, End: it.Created, State: "Success"}}
	}
	p := env.Publish
	state := p.State
	end := fabricTime(p.End)
	if e.now().Before(p.End) {
		state, end = "Running", ""
	}
	return &environmentPropertiesJSON{PublishDetails: publishDetailsJSON{State: state, TargetVersion: p.TargetVersion,
		StartTime: fabricTime(p.Start), EndTime: end,
		ComponentPublishInfo: componentPublishInfo{SparkLibraries: componentState{state}, SparkSettings: componentState{state}}}}
}
