package emulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// maxBody bounds every request body; larger bodies are refused with a 400 before they are parsed.
const maxBody = 8 << 20

type recordKey struct{}

// failOperationKey marks a request whose operation a fail_operation rule makes fail.
type failOperationKey struct{}

// ServeHTTP runs every request through the same pipeline: request id and log record, fault rules, random
// faults and latency, then the route. Control endpoints skip the faults.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &RequestRecord{
		Time:      e.now().UTC(),
		Method:    r.Method,
		Path:      r.URL.Path,
		Query:     r.URL.RawQuery,
		RequestID: uuid.NewString(),
	}
	sw := &statusWriter{ResponseWriter: w}
	r = r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))
	logged := false
	// logNow records the request; resets call it before breaking the connection so that a client that saw
	// the break also finds the entry in the log.
	logNow := func() {
		if !logged {
			logged = true
			rec.Status = sw.status
			rec.Duration = time.Since(start)
			e.reqlog.add(*rec)
			if e.log.Enabled(r.Context(), slog.LevelDebug) {
				e.log.Debug("request", "method", rec.Method, "path", rec.Path, "status", rec.Status,
					"principal", rec.Principal, "fault", rec.Fault, "requestId", rec.RequestID, "duration", rec.Duration)
			}
		}
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			e.log.Error("emulator handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			if !sw.wrote {
				writeFabricError(sw, rec.RequestID, errf(500, "InternalServerError", "The emulator failed: %v", p))
			}
		}
		logNow()
	}()

	if surfaceOf(r.URL.Path) == surfaceControl {
		e.route(sw, r)
		return
	}
	if rule, ok := e.faults.match(r.Method, r.URL.Path, e.now()); ok {
		rec.Fault = rule.describe()
		rec.Principal = e.identify(r)
		switch rule.Action {
		case ActionResetBefore:
			logNow()
			resetConnection(sw)
		case ActionResetAfter:
			e.serveThenReset(sw, r, logNow)
		case ActionFailOperation:
			e.route(sw, r.WithContext(context.WithValue(r.Context(), failOperationKey{}, true)))
		case ActionHoldAfter:
			e.serveThenHold(sw, r, logNow)
		default:
			ae := errf(rule.Status, rule.ErrorCode, "%s", rule.Message)
			if rule.Status == http.StatusTooManyRequests || rule.Status == http.StatusServiceUnavailable {
				ae.RetryAfter = max(rule.RetryAfter, 1)
			}
			if rule.Status == http.StatusTooManyRequests && rule.Message == "" {
				ae.Message = requestBlocked(e.now(), ae.RetryAfter).Message
			}
			e.writeSurfaceError(sw, r, rec.RequestID, ae)
		}
		return
	}
	d := e.faults.roll(r.URL.Path, surfaceOf(r.URL.Path))
	if d.delay > 0 {
		time.Sleep(d.delay)
	}
	switch {
	case d.status != 0:
		rec.Fault = fmt.Sprintf("random %d", d.status)
		rec.Principal = e.identify(r)
		ae := errf(d.status, defaultErrorCode(d.status), "Injected transient failure (random fault)")
		if d.status == http.StatusServiceUnavailable || d.status == http.StatusTooManyRequests {
			ae.RetryAfter = 1
		}
		e.writeSurfaceError(sw, r, rec.RequestID, ae)
	case d.resetBefore:
		rec.Fault = "random reset_before"
		rec.Principal = e.identify(r)
		logNow()
		resetConnection(sw)
	case d.resetAfter:
		rec.Fault = "random reset_after"
		e.serveThenReset(sw, r, logNow)
	default:
		e.route(sw, r)
	}
}

// route dispatches to the mux, answering unknown paths and methods with the surface's own error body
// instead of the mux's plain text.
func (e *Emulator) route(w http.ResponseWriter, r *http.Request) {
	clean := path.Clean(r.URL.Path)
	if strings.HasSuffix(r.URL.Path, "/") && clean != "/" {
		clean += "/"
	}
	// Fabric accepts a trailing slash (GET .../environments/ is the list); the mux routes the path without it.
	if surfaceOf(r.URL.Path) == surfaceFabric && clean == r.URL.Path && strings.HasSuffix(clean, "/") && clean != "/v1/" {
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimSuffix(clean, "/")
		r2.URL.RawPath = ""
		r, clean = r2, r2.URL.Path
	}
	// An unclean path (empty or dot segments) is no resource; the mux would answer it with a redirect.
	if _, pattern := e.mux.Handler(r); pattern == "" || clean != r.URL.Path {
		rec := recordOf(r)
		e.writeSurfaceError(w, r, rec.RequestID, errf(http.StatusNotFound, "NotFound",
			"The emulator does not serve %s %s", r.Method, r.URL.Path))
		return
	}
	e.mux.ServeHTTP(w, r) // sets the path values that Handler does not
}

// notServed answers a path the emulator has no such operation for, as route does for unknown paths.
func notServed(c *call) (*response, error) {
	return nil, errf(http.StatusNotFound, "NotFound", "The emulator does not serve %s %s", c.r.Method, c.r.URL.Path)
}

// serveThenReset applies the request, throws the response away and breaks the connection: the client cannot
// tell whether its change happened.
func (e *Emulator) serveThenReset(w http.ResponseWriter, r *http.Request, logNow func()) {
	bw := &discardWriter{header: http.Header{}}
	e.route(bw, r)
	if sw, ok := w.(*statusWriter); ok {
		sw.status = bw.status
	}
	logNow()
	resetConnection(w)
}

// serveThenHold applies the request, logs it, and answers only when the client has gone away (a
// killed process) or the emulator closes: by then nobody reads the answer.
func (e *Emulator) serveThenHold(w http.ResponseWriter, r *http.Request, logNow func()) {
	bw := &discardWriter{header: http.Header{}}
	e.route(bw, r)
	if sw, ok := w.(*statusWriter); ok {
		sw.status = bw.status
	}
	logNow()
	select {
	case <-r.Context().Done():
	case <-e.closing:
	}
	resetConnection(w)
}

func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
			tcp.SetLinger(0)
		}
	}
	conn.Close()
}

// identify names the caller of a request that a fault answers before any handler authenticated it; "" when
// the request has no valid token.
func (e *Emulator) identify(r *http.Request) string {
	aud := audienceFabric
	switch surfaceOf(r.URL.Path) {
	case surfaceGraph:
		aud = audienceGraph
	case surfaceVault:
		aud = audienceVault
	case surfaceFabric:
	default:
		return ""
	}
	if _, p, err := e.authenticate(r, aud); err == nil {
		return p.label()
	}
	return ""
}

func recordOf(r *http.Request) *RequestRecord {
	if rec, ok := r.Context().Value(recordKey{}).(*RequestRecord); ok {
		return rec
	}
	return &RequestRecord{RequestID: uuid.NewString()}
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if !s.wrote {
		s.status, s.wrote = http.StatusOK, true
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// discardWriter swallows a response that a reset_after fault will never deliver.
type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(b), nil
}
func (d *discardWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}

// Hijack lets a handler that itself breaks the connection run under serveThenReset.
func (d *discardWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errors.New("response already discarded")
}

// call is one authenticated Fabric request as a handler sees it.
type call struct {
	e      *Emulator
	r      *http.Request
	rec    *RequestRecord
	who    *Principal
	claims *tokenClaims
	body   []byte
	now    time.Time
	// itemType is set on the type-specific item routes (/workspaces/{id}/notebooks/...): the item type the
	// collection holds.
	itemType string
}

// response is what a handler returns; it is written after the state lock is released, so body must not
// alias state.
type response struct {
	status int
	header http.Header
	body   any // nil = empty body
}

type fabricHandler func(c *call) (*response, error)

func ok(body any) (*response, error) { return &response{status: http.StatusOK, body: body}, nil }

func emptyOK() (*response, error) { return &response{status: http.StatusOK}, nil }

// fabric registers a Fabric API route: authentication, throttling, the state lock, persistence, writing.
func (e *Emulator) fabric(pattern string, h fabricHandler) {
	e.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rec := recordOf(r)
		claims, who, aerr := e.authenticate(r, audienceFabric)
		if aerr != nil {
			writeFabricError(w, rec.RequestID, aerr)
			return
		}
		rec.Principal = who.label()
		if ae := e.limits.admit(who.ID, e.faults.config(), e.now()); ae != nil {
			writeFabricError(w, rec.RequestID, ae)
			return
		}
		c := &call{e: e, r: r, rec: rec, who: who, claims: claims}
		if r.Body != nil && r.Method != http.MethodGet {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err != nil {
				writeFabricError(w, rec.RequestID, badRequest("InvalidRequest", "The request body could not be read"))
				return
			}
			if len(b) > maxBody {
				writeFabricError(w, rec.RequestID, badRequest("RequestBodyTooLarge",
					"The request body exceeds the maximum size of %d bytes", maxBody))
				return
			}
			c.body = b
		}
		e.mu.Lock()
		c.now = e.now()
		resp, err := h(c)
		var serr error
		if err == nil && r.Method != http.MethodGet && resp.status < 300 {
			e.dirty = true
			serr = e.saveLocked()
		}
		e.mu.Unlock()
		if serr != nil {
			e.log.Error("emulator state file", "err", serr)
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = errf(500, "InternalServerError", "%v", err)
			}
			writeFabricError(w, rec.RequestID, ae)
			return
		}
		writeResponse(w, rec.RequestID, resp)
	})
}

func writeResponse(w http.ResponseWriter, requestID string, resp *response) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("RequestId", requestID)
	if resp.body == nil {
		if resp.status == http.StatusAccepted {
			h.Set("Content-Type", "application/json; charset=utf-8")
			// Real 202s carry an empty entity tag.
			h["ETag"] = []string{`""`}
		}
		w.WriteHeader(resp.status)
		return
	}
	var b []byte
	switch v := resp.body.(type) {
	case json.RawMessage:
		b = v
	default:
		var err error
		b, err = json.Marshal(v)
		if err != nil {
			writeFabricError(w, requestID, errf(500, "InternalServerError", "encoding the response: %v", err))
			return
		}
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(resp.status)
	w.Write(b)
}

// decode parses a JSON body strictly enough to give the documented 400 for malformed input and wrong types.
func (c *call) decode(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return invalidInput("The request body is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(c.body))
	if c.e.opts.StrictRequests {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			ae := invalidInput("The request has an unknown field %s", field)
			ae.More = []errorDetail{{ErrorCode: "UnknownField", Message: "StrictRequests is on: " + field + " is not a field this emulator knows for the request"}}
			return ae
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "body"
			}
			ae := invalidInput("The request has an invalid input")
			ae.More = []errorDetail{{ErrorCode: "InvalidParameter",
				Message: fmt.Sprintf("'%s' must be of type %s, not %s", field, jsonTypeName(te.Type.Kind().String()), te.Value)}}
			return ae
		}
		ae := badRequest("InvalidRequest", "The request body is not valid JSON")
		ae.More = []errorDetail{{ErrorCode: "CorruptedPayload", Message: err.Error()}}
		return ae
	}
	if dec.More() {
		return badRequest("InvalidRequest", "The request body has trailing data after the JSON value")
	}
	return nil
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return "number"
}

// guid validates a path or body id.
func guid(name, v string) (string, error) {
	u, err := uuid.Parse(v)
	if err != nil || len(v) != 36 {
		ae := badRequest("InvalidParameter", "The value '%s' of parameter '%s' is not a valid GUID", truncate(v, 64), name)
		return "", ae
	}
	return u.String(), nil
}

func (c *call) pathID(name string) (string, error) { return guid(name, c.r.PathValue(name)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// queryBool parses an optional boolean query parameter.
func (c *call) queryBool(name string, def bool) (bool, error) {
	v := c.r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.ToLower(v))
	if err != nil {
		return false, badRequest("InvalidParameter", "The value '%s' of parameter '%s' is not a boolean", truncate(v, 32), name)
	}
	return b, nil
}
