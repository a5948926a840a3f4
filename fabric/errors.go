package fabric

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Error is the one error type for Fabric failures: a non-2xx answer, a failed long-running operation,
// a request that never got an answer, or a call refused by fabplan's own middleware (open circuit
// breaker, exhausted retry budget, bearer token over http).
type Error struct {
	StatusCode  int // HTTP status; 0 when no answer arrived or a long-running operation failed
	ErrorCode   string
	Message     string
	RequestID   string
	Operation   string // the client method, e.g. "CreateWorkspace"
	Hint        string // what the user can do about it, for the codes users hit most
	MoreDetails []ErrorDetail

	// RetryAfter is the server's Retry-After on a 429 or 503 (0 when absent).
	RetryAfter time.Duration
	// Err is the underlying cause when no answer arrived (a connection error, a timeout).
	Err error

	// accepted marks a failure after Fabric accepted the request (202): polling its operation
	// failed, so the change may have taken effect. operationFailed marks an operation that ended
	// Failed, Canceled or Undefined. notApplied is set by the create methods when the create
	// certainly did not take effect (see NotApplied).
	accepted, operationFailed, notApplied bool
}

// ErrorDetail is one entry of ErrorResponse.moreDetails.
type ErrorDetail struct {
	ErrorCode       string           `json:"errorCode"`
	Message         string           `json:"message"`
	RelatedResource *RelatedResource `json:"relatedResource,omitempty"`
}

// RelatedResource names the object an error is about.
type RelatedResource struct {
	ResourceID   string `json:"resourceId"`
	ResourceType string `json:"resourceType"`
}

// Error codes fabplan itself produces when Fabric never answered.
const (
	CodeRequestFailed      = "RequestFailed"      // no HTTP answer (connection error, timeout)
	CodeCircuitBreakerOpen = "CircuitBreakerOpen" // failed fast, see Hint for when it half-opens
	CodeInsecureEndpoint   = "InsecureEndpoint"   // a bearer token would have gone over plain http
	CodeLROFailed          = "OperationFailed"    // an operation ended Failed/Canceled/Undefined without an error body
	// CodeOwnershipConflict: after an uncertain create, the object found by its natural key does not
	// carry evidence that this create made it (it differs from what was sent); it is not adopted.
	CodeOwnershipConflict = "OwnershipConflict"
)

func (e *Error) Error() string {
	var b strings.Builder
	if e.Operation != "" {
		b.WriteString(e.Operation)
		b.WriteString(": ")
	}
	if e.ErrorCode != "" {
		b.WriteString(e.ErrorCode)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	switch {
	case e.StatusCode != 0:
		fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
	case e.ErrorCode == CodeCircuitBreakerOpen || e.ErrorCode == CodeInsecureEndpoint:
		b.WriteString(" (not sent")
	case e.ErrorCode == CodeOwnershipConflict:
		b.WriteString(" (not adopted")
	case e.Err != nil:
		b.WriteString(" (no response")
	default:
		b.WriteString(" (long-running operation")
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, ", requestId %s", e.RequestID)
	}
	b.WriteString(")")
	for _, d := range e.MoreDetails {
		fmt.Fprintf(&b, "\n  %s: %s", d.ErrorCode, d.Message)
	}
	if e.Hint != "" {
		b.WriteString("\nhint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err says the object does not exist (HTTP 404 or a *NotFound code).
func IsNotFound(err error) bool {
	var fe *Error
	if !errors.As(err, &fe) {
		return false
	}
	return fe.StatusCode == http.StatusNotFound || strings.HasSuffix(fe.ErrorCode, "NotFound")
}

// NotApplied reports whether err, returned by a create method (CreateWorkspace, CreateItem,
// CreateFolder, AddRoleAssignment, ConnectGit), proves that the create did not take effect: Fabric
// refused it (ItemDisplayNameAlreadyInUse, WorkspaceNameAlreadyExists,
// PrincipalAlreadyHasWorkspaceRolePermissions, any other 4xx but 408), it was never sent (open
// circuit breaker, refused connection), or the natural key is held by an object that is not this
// create's (OwnershipConflict). Such a create has nothing to undo. False means the create may have
// taken effect (5xx, a lost answer, an operation that could not be followed to its end).
func NotApplied(err error) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.notApplied
}

// Conflict is the OwnershipConflict error: object was found by its natural key but is not taken as
// this run's, for the reason why.
func Conflict(op, object, why string) *Error {
	return &Error{Operation: op, ErrorCode: CodeOwnershipConflict, notApplied: true,
		Message: fmt.Sprintf("%s exists but is not this run's: %s", object, why),
		Hint: "another actor made or changed an object with the same name; fabplan neither adopts nor removes it. " +
			"Check it, then rename or remove it, or change the plan, and run again"}
}

// ErrorCode returns Fabric's errorCode carried by err, or "" when err is no *Error.
func ErrorCode(err error) string {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.ErrorCode
	}
	return ""
}

// hint is the remediation shown under the error for the codes users hit most; "" for the others. A
// switch rather than a package map, so that nothing can change the table at run time.
func hint(code string) string {
	switch code {
	case "InsufficientPrivileges":
		return "the identity lacks a Fabric permission for this call: give it the Admin or Member role on the workspace (and Contributor on the capacity for capacity assignment)"
	case "PrincipalTypeNotSupported":
		return "this API does not accept this kind of identity (service principals are refused here): run with a user identity, --auth azure-cli or --auth device-code"
	case "FeatureNotAvailable":
		return "the feature is not enabled for this tenant or capacity: check the Fabric admin portal, or use a capacity that supports it"
	case "TenantSwitchDisabled":
		return "a Fabric tenant setting blocks this identity: a Fabric admin must enable \"Service principals can use Fabric APIs\" (Admin portal > Tenant settings) for it or one of its groups"
	case "WorkspaceHasNoCapacityAssigned":
		return "assign the workspace to a capacity first (set capacity on the workspace in the plan)"
	case "ItemDisplayNameNotAvailableYet":
		return "the name belongs to an item deleted moments ago and Fabric still reserves it; fabplan retried for minutes: run again later or pick another name"
	case "RequestBlocked", "TooManyRequests":
		return "Fabric throttled this identity; fabplan waits as long as Retry-After asks. Lower --parallelism or spread runs over time if this keeps failing"
	case "TokenExpired":
		return "the access token expired and a fresh one was refused too: check the machine clock and the credential (az login, secret or federated token expiry)"
	case CodeInsecureEndpoint:
		return "use an https endpoint; plain http is allowed only for a loopback address with --insecure"
	}
	return ""
}

// errorResponse is Fabric's ErrorResponse body (also found under "error" of a failed operation).
type errorResponse struct {
	ErrorCode       string           `json:"errorCode"`
	Message         string           `json:"message"`
	RequestID       string           `json:"requestId"`
	MoreDetails     []ErrorDetail    `json:"moreDetails"`
	RelatedResource *RelatedResource `json:"relatedResource"`
}

func (r errorResponse) toError(op string, status int) *Error {
	return withHint(&Error{
		StatusCode:  status,
		ErrorCode:   r.ErrorCode,
		Message:     r.Message,
		RequestID:   r.RequestID,
		Operation:   op,
		MoreDetails: r.MoreDetails,
	})
}

func withHint(e *Error) *Error {
	if e.Hint == "" {
		e.Hint = hint(e.ErrorCode)
	}
	return e
}

// peekBody reads a response body and puts an identical reader back, so policies further out still
// see it.
func peekBody(resp *http.Response) []byte {
	if resp.Body == nil {
		return nil
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return body
}

// responseError builds the *Error for a non-2xx response: the body's ErrorResponse where there is
// one, else the x-ms-public-api-error-code header, else the HTTP status text.
func responseError(op string, resp *http.Response) *Error {
	body := peekBody(resp)
	var r errorResponse
	_ = json.Unmarshal(body, &r)
	if r.ErrorCode == "" {
		r.ErrorCode = resp.Header.Get("x-ms-public-api-error-code")
	}
	if r.RequestID == "" {
		r.RequestID = resp.Header.Get("RequestId")
	}
	if r.Message == "" {
		r.Message = strings.TrimSpace(string(body))
		if r.Message == "" || len(r.Message) > 300 || !json.Valid(body) && strings.Contains(r.Message, "<") {
			r.Message = http.StatusText(resp.StatusCode)
		}
	}
	e := r.toError(op, resp.StatusCode)
	e.RetryAfter = retryAfter(resp.Header, time.Now())
	return e
}

// transportError wraps a request that got no answer.
func transportError(op string, err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		if fe.Operation == "" {
			fe.Operation = op
		}
		return fe
	}
	return &Error{ErrorCode: CodeRequestFailed, Message: err.Error(), Operation: op, Err: err}
}
