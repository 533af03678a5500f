package webhookd

import (
	"errors"
	"fmt"
	"regexp"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// APIError is a call the server refused, with the gRPC code and, when the
// server named one, the request field it objected to.
//
// The server starts the messages of field errors with the field's path:
// "subscription.site: must be an absolute path starting with '/'",
// "events[0].resource_types is required". Field is that path
// ("subscription.site") and Message the rest; for other errors Field is
// empty and Message is the whole message.
type APIError struct {
	Code    codes.Code
	Field   string
	Message string
	// Violations are the google.rpc.BadRequest field violations in the
	// status details, if the server sent any.
	Violations []FieldViolation

	status *status.Status
}

// FieldViolation is one google.rpc.BadRequest field violation.
type FieldViolation struct {
	Field       string
	Description string
}

func (e *APIError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("webhookd: %s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("webhookd: %s: %s", e.Code, e.Message)
}

// GRPCStatus returns the gRPC status, so that status.Code and status.FromError
// work on an *APIError.
func (e *APIError) GRPCStatus() *status.Status { return e.status }

// AsAPIError returns err as an *APIError when it carries a gRPC status
// (directly or wrapped), and false otherwise (nil, or not from a call).
func AsAPIError(err error) (*APIError, bool) {
	if err == nil {
		return nil, false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr, true
	}
	// The innermost status, with the server's own message (status.FromError
	// would prefix a wrapped status's message with the wrapping text).
	var withStatus interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &withStatus) {
		return nil, false
	}
	st := withStatus.GRPCStatus()
	if st == nil {
		return nil, false
	}
	e := &APIError{Code: st.Code(), Message: st.Message(), status: st}
	if field, rest, ok := splitField(st.Message()); ok {
		e.Field, e.Message = field, rest
	}
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			e.Violations = append(e.Violations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
		}
	}
	if e.Field == "" && len(e.Violations) > 0 {
		e.Field, e.Message = e.Violations[0].Field, e.Violations[0].Description
	}
	return e, true
}

// Code returns err's gRPC code: codes.OK for nil, codes.Unknown for errors
// that are not from a call.
func Code(err error) codes.Code {
	if e, ok := AsAPIError(err); ok {
		return e.Code
	}
	if err == nil {
		return codes.OK
	}
	return codes.Unknown
}

// A field path as the server writes it: subscription.site, events[0].acl[2],
// events[0].representations["webhook-delivery"], update_mask,
// subscription.filter.$or[1]["amount"].$gte (a payload filter's part).
const fieldPath = `[A-Za-z_][A-Za-z0-9_]*(?:\.\$?[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\]|\["(?:[^"\\]|\\.)*"\])*`

var (
	fieldProblem  = regexp.MustCompile(`^(` + fieldPath + `): ((?s).*)$`)
	fieldRequired = regexp.MustCompile(`^(` + fieldPath + `) (is required)$`)
)

func splitField(message string) (field, rest string, ok bool) {
	if m := fieldProblem.FindStringSubmatch(message); m != nil {
		return m[1], m[2], true
	}
	if m := fieldRequired.FindStringSubmatch(message); m != nil {
		return m[1], m[2], true
	}
	return "", "", false
}
