package webhookd_test

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	webhookd "github.com/webhookd/webhookd/clients/go"
)

func TestAsAPIErrorSplitsTheField(t *testing.T) {
	for _, c := range []struct {
		code           codes.Code
		message        string
		field, problem string
	}{
		{codes.InvalidArgument, "subscription.site: must be an absolute path starting with '/'", "subscription.site", "must be an absolute path starting with '/'"},
		{codes.InvalidArgument, "events[0].resource_types is required", "events[0].resource_types", "is required"},
		{codes.InvalidArgument, `events[2].representations["webhook-delivery"]: not JSON: x: y`, `events[2].representations["webhook-delivery"]`, "not JSON: x: y"},
		{codes.InvalidArgument, "update_mask is required", "update_mask", "is required"},
		{codes.InvalidArgument, `subscription.filter.$or[1]["amount"].$gte: wants a number or a string, got a boolean`, `subscription.filter.$or[1]["amount"].$gte`, "wants a number or a string, got a boolean"},
		{codes.PermissionDenied, `subscription.owner: a subscriber may only create and own its own subscriptions (owner must be "alice")`, "subscription.owner", `a subscriber may only create and own its own subscriptions (owner must be "alice")`},
		{codes.NotFound, `subscription "sub_x" not found`, "", `subscription "sub_x" not found`},
		{codes.Unauthenticated, "missing bearer token in the authorization metadata", "", "missing bearer token in the authorization metadata"},
		{codes.Unauthenticated, `malformed authorization metadata: the scheme is not Bearer; expected "Bearer <token>"`, "", `malformed authorization metadata: the scheme is not Bearer; expected "Bearer <token>"`},
		{codes.ResourceExhausted, "too many subscriptions (at most 3)", "", "too many subscriptions (at most 3)"},
	} {
		err := fmt.Errorf("wrapped: %w", status.Error(c.code, c.message))
		got, ok := webhookd.AsAPIError(err)
		if !ok {
			t.Fatalf("AsAPIError(%q) not ok", c.message)
		}
		if got.Code != c.code || got.Field != c.field || got.Message != c.problem {
			t.Errorf("AsAPIError(%q) = {%v %q %q}, want {%v %q %q}", c.message, got.Code, got.Field, got.Message, c.code, c.field, c.problem)
		}
		if webhookd.Code(err) != c.code || status.Code(got) != c.code {
			t.Errorf("Code(%q) = %v, status.Code = %v, want %v", c.message, webhookd.Code(err), status.Code(got), c.code)
		}
	}
}

func TestAsAPIErrorReadsBadRequestDetails(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "the request is invalid").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "subscription.target_url", Description: "must be https"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := webhookd.AsAPIError(st.Err())
	if !ok || got.Field != "subscription.target_url" || got.Message != "must be https" || len(got.Violations) != 1 {
		t.Errorf("AsAPIError = %+v, %v", got, ok)
	}
}

func TestAsAPIErrorOnOtherErrors(t *testing.T) {
	if _, ok := webhookd.AsAPIError(nil); ok {
		t.Errorf("AsAPIError(nil) ok")
	}
	if _, ok := webhookd.AsAPIError(errors.New("plain")); ok {
		t.Errorf("AsAPIError(plain error) ok")
	}
	if webhookd.Code(nil) != codes.OK || webhookd.Code(errors.New("plain")) != codes.Unknown {
		t.Errorf("Code(nil), Code(plain) = %v, %v", webhookd.Code(nil), webhookd.Code(errors.New("plain")))
	}
}
