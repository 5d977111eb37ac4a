// Package grpccodes names gRPC status codes as the gRPC specification and
// the OpenTelemetry semantic conventions write them ("OK",
// "DEADLINE_EXCEEDED"): the rpc.response.status_code values shared by
// grpcserver and grpcclient.
package grpccodes

import (
	"strconv"

	"google.golang.org/grpc/codes"
)

// names are the codes as gRPC's specification writes them.
var names = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// Name is c's name in the specification, or its number for a code outside
// it.
func Name(c codes.Code) string {
	if int(c) < len(names) {
		return names[c]
	}
	return strconv.Itoa(int(c))
}
