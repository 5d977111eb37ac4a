package grpccodes

import (
	"testing"

	"google.golang.org/grpc/codes"
)

// TestNameIsTheSpecificationsSpelling: every code gRPC defines has the
// specification's name, and a code outside it its number.
func TestNameIsTheSpecificationsSpelling(t *testing.T) {
	tests := []struct {
		code codes.Code
		want string
	}{
		{codes.OK, "OK"}, {codes.Canceled, "CANCELLED"}, {codes.Unknown, "UNKNOWN"},
		{codes.InvalidArgument, "INVALID_ARGUMENT"}, {codes.DeadlineExceeded, "DEADLINE_EXCEEDED"},
		{codes.NotFound, "NOT_FOUND"}, {codes.AlreadyExists, "ALREADY_EXISTS"},
		{codes.PermissionDenied, "PERMISSION_DENIED"}, {codes.ResourceExhausted, "RESOURCE_EXHAUSTED"},
		{codes.FailedPrecondition, "FAILED_PRECONDITION"}, {codes.Aborted, "ABORTED"},
		{codes.OutOfRange, "OUT_OF_RANGE"}, {codes.Unimplemented, "UNIMPLEMENTED"}, {codes.Internal, "INTERNAL"},
		{codes.Unavailable, "UNAVAILABLE"}, {codes.DataLoss, "DATA_LOSS"}, {codes.Unauthenticated, "UNAUTHENTICATED"},
		{codes.Code(17), "17"}, {codes.Code(1 << 20), "1048576"},
	}
	for _, tt := range tests {
		if got := Name(tt.code); got != tt.want {
			t.Errorf("Name(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}
