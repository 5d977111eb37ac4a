package operable_test

import (
	"context"
	"errors"
	"io"
	"regexp"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/internal/syncbuf"
)

// streamer's StreamingOutputCall sends a message every 10 ms until the
// client leaves or, when it observes it, Stopping is closed; then it ends
// the stream cleanly.
type streamer struct {
	testgrpc.UnimplementedTestServiceServer
	stopping <-chan struct{} // nil: the handler ignores the stop
}

func (s *streamer) StreamingOutputCall(_ *testgrpc.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testgrpc.StreamingOutputCallResponse]) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stream.Context().Done():
			return stream.Context().Err()
		case <-s.stopping:
			return nil
		case <-tick.C:
			if err := stream.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
				return err
			}
		}
	}
}

// TestGRPCStreamsObservingStoppingEndCleanly: a server stream is served
// through the drain delay; one that selects on Service.Stopping ends with
// OK when the servers begin to stop, and the stop cuts no call; one that
// ignores it is cut when the stopping phase's budget runs out, and the
// stop says so (calls_cut 1).
func TestGRPCStreamsObservingStoppingEndCleanly(t *testing.T) {
	const drain = 300 * time.Millisecond
	tests := []struct {
		name     string
		observes bool
		wantCode codes.Code // OK: the stream's end (io.EOF)
		wantLine string
	}{
		{"observes Stopping", true, codes.OK, `"msg":"grpc server stopped".*"calls_cut":0`},
		{"ignores Stopping", false, codes.Unavailable, `"msg":"grpc server did not drain in time; calls cut".*"calls_cut":1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &syncbuf.Buffer{}
			s, err := operable.New(context.Background(), operable.Options{Name: "t", Stdout: out,
				Environ: loopbackEnv("GRPC_ADDR", "127.0.0.1:0", "SHUTDOWN_DRAIN_DELAY", drain.String(), "SHUTDOWN_TIMEOUT", "5s")})
			if err != nil {
				t.Fatal(err)
			}
			svc := &streamer{}
			if tt.observes {
				svc.stopping = s.Stopping()
			}
			testgrpc.RegisterTestServiceServer(s.GRPC(), svc)
			done := make(chan error, 1)
			go func() { done <- s.Run(context.Background()) }()
			conn, err := grpc.NewClient(s.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stream, err := testgrpc.NewTestServiceClient(conn).StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{}, grpc.WaitForReady(true))
			if err != nil {
				select {
				case runErr := <-done:
					t.Fatalf("%v; Run = %v\n%s", err, runErr, out.String())
				default:
					t.Fatal(err)
				}
			}
			if _, err := stream.Recv(); err != nil {
				t.Fatal(err)
			}
			stopAt := time.Now()
			s.Stop()
			var last time.Time
			for err == nil {
				if _, err = stream.Recv(); err == nil {
					last = time.Now()
				}
			}
			if d := last.Sub(stopAt); d < drain*2/3 {
				t.Errorf("the stream's last message came %v after the stop, want it served through the %v drain delay", d, drain)
			}
			if ended := errors.Is(err, io.EOF); ended != (tt.wantCode == codes.OK) || (!ended && status.Code(err) != tt.wantCode) {
				t.Errorf("the stream ended with %v, want %v", err, tt.wantCode)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
			if !regexp.MustCompile(tt.wantLine).MatchString(out.String()) {
				t.Errorf("no line matching %s in:\n%s", tt.wantLine, out.String())
			}
			if ended := time.Since(stopAt); tt.observes && ended > drain+time.Second {
				t.Errorf("the stop took %v with the stream observing Stopping, want about the drain delay", ended)
			}
		})
	}
}
