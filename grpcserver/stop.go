package grpcserver

import (
	"context"

	"google.golang.org/grpc"
)

// GracefulStop stops srv: grpc.Server.GracefulStop (a GOAWAY on every
// connection, the listeners closed, the calls in flight finished) until ctx
// is done, then grpc.Server.Stop for what is left. It returns the number
// of calls the Stop cut (0 after a graceful stop), as counted by i, which
// must be installed on srv. It returns once srv has stopped.
func (i *Instrumentation) GracefulStop(ctx context.Context, srv *grpc.Server) (cut int64) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.GracefulStop()
	}()
	select {
	case <-done:
		return 0
	case <-ctx.Done():
	}
	cut = i.Active()
	srv.Stop()
	<-done
	return cut
}
