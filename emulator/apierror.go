package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// apiError is a Fabric failure as a handler reports it; writeFabricError turns it into the ErrorResponse body
// and headers of fabric-api.md sections 1 and 16.
type apiError struct {
	Status     int
	Code       string
	Message    string
	Related    *relatedResource
	More       []errorDetail
	RetryAfter int // seconds; only for 429/503
}

type relatedResource struct {
	ResourceID   string `json:"resourceId"`
	ResourceType string `json:"resourceType"`
}

type errorDetail struct {
	ErrorCode       string           `json:"errorCode"`
	Message         string           `json:"message"`
	RelatedResource *relatedResource `json:"relatedResource,omitempty"`
}

// errorResponse is the spec's ErrorResponse.
type errorResponse struct {
	RequestID       string           `json:"requestId,omitempty"`
	ErrorCode       string           `json:"errorCode"`
	Message         string           `json:"message"`
	MoreDetails     []errorDetail    `json:"moreDetails,omitempty"`
	RelatedResource *relatedResource `json:"relatedResource,omitempty"`
	IsRetriable     *bool            `json:"isRetriable,omitempty"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *apiError) related(id, typ string) *apiError {
	e.Related = &relatedResource{ResourceID: id, ResourceType: typ}
	return e
}

func badRequest(code, format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, code, format, args...)
}

func invalidInput(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "InvalidInput", format, args...)
}

func notFound(code, what, id string) *apiError {
	return errf(http.StatusNotFound, code, "The requested %s was not found", what).related(id, what)
}

func forbidden(code, msg string) *apiError { return errf(http.StatusForbidden, code, "%s", msg) }

func insufficientRole() *apiError {
	return forbidden("InsufficientWorkspaceRole", "The caller does not have the workspace role required for this operation")
}

func insufficientPrivileges() *apiError {
	return forbidden("InsufficientPrivileges", "The caller does not have sufficient permissions to perform this operation")
}

// body renders the error as the JSON object Fabric sends (also used inside failed operation states).
func (e *apiError) body(requestID string) errorResponse {
	out := errorResponse{
		RequestID:       requestID,
		ErrorCode:       e.Code,
		Message:         e.Message,
		MoreDetails:     e.More,
		RelatedResource: e.Related,
	}
	// Fabric says on every error whether a retry can help: only throttling and server faults can.
	retriable := e.Status == http.StatusTooManyRequests || e.Status >= 500
	out.IsRetriable = &retriable
	return out
}

// writeFabricError writes a Fabric ErrorResponse with the headers real clients branch on.
func writeFabricError(w http.ResponseWriter, requestID string, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("x-ms-public-api-error-code", e.Code)
	h.Set("RequestId", requestID)
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	b, _ := json.Marshal(e.body(requestID))
	w.WriteHeader(e.Status)
	w.Write(b)
}

// surface names which API family a path belongs to; each family has its own error body.
type surface int

const (
	surfaceFabric surface = iota
	surfaceEntra
	surfaceGraph
	surfaceVault
	surfaceControl
)

func surfaceOf(path string) surface {
	switch {
	case strings.HasPrefix(path, "/v1/") || path == "/v1":
		return surfaceFabric
	case strings.HasPrefix(path, "/graph/"):
		return surfaceGraph
	case strings.HasPrefix(path, "/keyvault/"):
		return surfaceVault
	case strings.HasPrefix(path, "/_emulator/"):
		return surfaceControl
	default:
		return surfaceEntra
	}
}

// writeSurfaceError writes an error in the body shape of the surface the request addressed; fault rules use it
// so that an injected failure looks like the real service's.
func (e *Emulator) writeSurfaceError(w http.ResponseWriter, r *http.Request, requestID string, ae *apiError) {
	switch surfaceOf(r.URL.Path) {
	case surfaceEntra:
		code := "temporarily_unavailable"
		switch {
		case ae.Status == http.StatusBadRequest:
			code = "invalid_request"
		case ae.Status == http.StatusUnauthorized:
			code = "invalid_client"
		case ae.Status == http.StatusTooManyRequests:
			code = "too_many_requests"
		}
		if ae.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
		}
		e.writeAADError(w, ae.Status, code, "AADSTS90033", ae.Message)
	case surfaceGraph:
		if ae.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
		}
		e.writeGraphError(w, requestID, ae.Status, ae.Code, ae.Message)
	case surfaceVault:
		if ae.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
		}
		writeVaultError(w, ae.Status, ae.Code, ae.Message)
	default:
		writeFabricError(w, requestID, ae)
	}
}

// defaultErrorCode is the error code used for an injected status without an explicit one.
func defaultErrorCode(status int) string {
	switch status {
	case 400:
		return "InvalidRequest"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "NotFound"
	case 409:
		return "Conflict"
	case 429:
		return "RequestBlocked"
	case 500:
		return "InternalServerError"
	case 502:
		return "BadGateway"
	case 503:
		return "ServiceUnavailable"
	case 504:
		return "GatewayTimeout"
	}
	if status >= 500 {
		return "UnknownError"
	}
	return "InvalidRequest"
}
