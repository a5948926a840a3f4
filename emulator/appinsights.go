package emulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Application Insights ingestion (the "Breeze" track endpoint): POST {IngestionEndpoint}/v2.1/track
// with a JSON array (or JSON lines) of envelopes. A connection string for the emulator is
// "InstrumentationKey=<any>;IngestionEndpoint=<emulator URL>/appinsights/". Every accepted envelope
// is kept, so tests assert on what a client sent; an envelope without iKey, name, time or
// data.baseType is refused the way the service refuses it (206 with per-item errors).

const appInsightsPrefix = "/appinsights"

type telemetrySink struct {
	mu        sync.Mutex
	envelopes []json.RawMessage
}

func (e *Emulator) appInsightsRoutes() {
	for _, v := range []string{"v2", "v2.1"} {
		e.mux.HandleFunc("POST "+appInsightsPrefix+"/"+v+"/track", e.track)
	}
	e.control("GET /_emulator/appinsights", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(e.AppInsights())
	})
}

// AppInsights returns every envelope the ingestion endpoint accepted, oldest first.
func (e *Emulator) AppInsights() []json.RawMessage {
	e.telemetry.mu.Lock()
	defer e.telemetry.mu.Unlock()
	return append([]json.RawMessage(nil), e.telemetry.envelopes...)
}

type trackError struct {
	Index      int    `json:"index"`
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

func (e *Emulator) track(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	items, err := splitEnvelopes(body)
	if err != nil {
		writeTrack(w, http.StatusBadRequest, 0, 0, []trackError{{Index: 0, StatusCode: 400, Message: err.Error()}})
		return
	}
	var errs []trackError
	accepted := 0
	for i, raw := range items {
		if msg := checkEnvelope(raw); msg != "" {
			errs = append(errs, trackError{Index: i, StatusCode: 400, Message: msg})
			continue
		}
		accepted++
		e.telemetry.mu.Lock()
		e.telemetry.envelopes = append(e.telemetry.envelopes, raw)
		e.telemetry.mu.Unlock()
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusPartialContent
	}
	writeTrack(w, status, len(items), accepted, errs)
}

func writeTrack(w http.ResponseWriter, status, received, accepted int, errs []trackError) {
	if errs == nil {
		errs = []trackError{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"itemsReceived": received, "itemsAccepted": accepted, "errors": errs})
}

// splitEnvelopes reads a JSON array of envelopes, or one envelope per line.
func splitEnvelopes(body []byte) ([]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, fmt.Errorf("invalid JSON array: %v", err)
		}
		return items, nil
	}
	var items []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !json.Valid([]byte(line)) {
			return nil, fmt.Errorf("invalid JSON line %d", len(items)+1)
		}
		items = append(items, json.RawMessage(line))
	}
	return items, sc.Err()
}

func checkEnvelope(raw json.RawMessage) string {
	var env struct {
		Name string `json:"name"`
		Time string `json:"time"`
		IKey string `json:"iKey"`
		Data struct {
			BaseType string          `json:"baseType"`
			BaseData json.RawMessage `json:"baseData"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return "invalid envelope: " + err.Error()
	}
	switch {
	case env.IKey == "":
		return "Field 'iKey' on type 'Envelope' is required but missing or empty"
	case env.Name == "":
		return "Field 'name' on type 'Envelope' is required but missing or empty"
	case env.Time == "":
		return "Field 'time' on type 'Envelope' is required but missing or empty"
	case env.Data.BaseType == "" || len(env.Data.BaseData) == 0:
		return "Field 'baseType' on type 'Data' is required but missing or empty"
	}
	return ""
}
