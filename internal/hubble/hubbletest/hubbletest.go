// Package hubbletest serves Hubble's Observer gRPC API for tests: a real
// gRPC server over TCP whose flows the test adds, following GetFlows from a
// since point as Hubble's ring buffer does, with notices (lost events, node
// status) and a flood mode.
package hubbletest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	flowpb "github.com/kordon-dev/kordon/internal/hubble/api/flow"
	"github.com/kordon-dev/kordon/internal/hubble/api/observer"
)

// Server is a real gRPC Observer server for tests: it serves GetFlows from
// a buffer of flows (from the since point, or only new flows without one)
// and follows it, like Hubble's ring buffer. Set its fields before serving.
type Server struct {
	observer.UnimplementedObserverServer

	mu      sync.Mutex
	cond    *sync.Cond
	buf     []*flowpb.Flow
	reqs    []*observer.GetFlowsRequest
	started time.Time
	// Notices are sent at the start of every stream.
	Notices []*observer.GetFlowsResponse
	// Flood, when set, makes GetFlows send Flood(i) for i = 0, 1, ...
	// until Limit (0: without end), then wait.
	Flood func(i int) *flowpb.Flow
	Limit int
	// Sent counts the flows sent.
	Sent atomic.Int64
}

// New returns a server that says it started at started.
func New(started time.Time) *Server {
	s := &Server{started: started}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// Add adds flows to the buffer (in time order) and sends them to followers.
func (s *Server) Add(fs ...*flowpb.Flow) {
	s.mu.Lock()
	s.buf = append(s.buf, fs...)
	s.cond.Broadcast()
	s.mu.Unlock()
}

// Requests returns the GetFlows requests received so far.
func (s *Server) Requests() []*observer.GetFlowsRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*observer.GetFlowsRequest(nil), s.reqs...)
}

// ServerStatus reports the buffer and the uptime since the start.
func (s *Server) ServerStatus(context.Context, *observer.ServerStatusRequest) (*observer.ServerStatusResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &observer.ServerStatusResponse{NumFlows: uint64(len(s.buf)), MaxFlows: 4096, UptimeNs: uint64(time.Since(s.started))}, nil
}

// GetFlows streams the flows of the buffer from req's since point, or
// those added from now on, and follows the buffer until the stream ends.
func (s *Server) GetFlows(req *observer.GetFlowsRequest, stream grpc.ServerStreamingServer[observer.GetFlowsResponse]) error {
	ctx := stream.Context()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	pos := len(s.buf)
	if req.GetSince() != nil {
		since := req.GetSince().AsTime()
		pos = 0
		for pos < len(s.buf) && s.buf[pos].GetTime().AsTime().Before(since) {
			pos++
		}
	}
	notices := s.Notices
	s.mu.Unlock()
	for _, n := range notices {
		if err := stream.Send(n); err != nil {
			return err
		}
	}
	if s.Flood != nil {
		for i := 0; s.Limit == 0 || i < s.Limit; i++ {
			if err := stream.Send(&observer.GetFlowsResponse{ResponseTypes: &observer.GetFlowsResponse_Flow{Flow: s.Flood(i)}}); err != nil {
				return err
			}
			s.Sent.Add(1)
		}
		<-ctx.Done()
		return nil
	}
	for {
		s.mu.Lock()
		for pos >= len(s.buf) && ctx.Err() == nil {
			s.cond.Wait()
		}
		if ctx.Err() != nil {
			s.mu.Unlock()
			return nil
		}
		f := s.buf[pos]
		pos++
		s.mu.Unlock()
		if err := stream.Send(&observer.GetFlowsResponse{ResponseTypes: &observer.GetFlowsResponse_Flow{Flow: f}, NodeName: f.GetNodeName()}); err != nil {
			return err
		}
		s.Sent.Add(1)
	}
}

// Serve serves h on addr ("127.0.0.1:0" for any port) until the test ends
// or the returned server is stopped; a stopped server's address can be
// served again (a restart).
func Serve(t testing.TB, addr string, h *Server, opts ...grpc.ServerOption) (*grpc.Server, string) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port of a stopped server may take a moment to free
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	observer.RegisterObserverServer(srv, h)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return srv, ln.Addr().String()
}

// TCPFlow is a forwarded TCP flow from src to dst:port at t, seen on node-1.
func TCPFlow(id string, t time.Time, src, dst string, port uint32) *flowpb.Flow {
	return &flowpb.Flow{
		Uuid: id, Time: timestamppb.New(t), Verdict: flowpb.Verdict_FORWARDED,
		IP:          &flowpb.IP{Source: src, Destination: dst, IpVersion: flowpb.IPVersion_IPv4},
		L4:          &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{SourcePort: 40000, DestinationPort: port}}},
		Source:      &flowpb.Endpoint{},
		Destination: &flowpb.Endpoint{},
		IsReply:     wrapperspb.Bool(false),
		NodeName:    "node-1",
	}
}

// GenFlow is the i-th flow of a generated busy cluster: 200 pods in 20
// namespaces talking to each other and to the world.
func GenFlow(base time.Time, i int) *flowpb.Flow {
	src, dst := i%200, (i*7+3)%200
	f := TCPFlow(fmt.Sprintf("flow-%d", i), base.Add(time.Duration(i)*time.Microsecond),
		fmt.Sprintf("10.%d.%d.%d", 1+src/100, src%100, 10), fmt.Sprintf("10.%d.%d.%d", 1+dst/100, dst%100, 10), uint32(80+i%5))
	f.Source = &flowpb.Endpoint{Namespace: fmt.Sprintf("ns-%d", src%20), PodName: fmt.Sprintf("app-%d-7d9f", src),
		Labels: []string{"k8s:app=app-" + fmt.Sprint(src)}, Workloads: []*flowpb.Workload{{Name: fmt.Sprintf("app-%d", src), Kind: "Deployment"}}}
	if i%10 != 0 {
		f.Destination = &flowpb.Endpoint{Namespace: fmt.Sprintf("ns-%d", dst%20), PodName: fmt.Sprintf("app-%d-7d9f", dst)}
	}
	if i%50 == 0 {
		f.Verdict = flowpb.Verdict_DROPPED
	}
	return f
}
