// Command ciliumwire writes Hubble API messages encoded by Cilium's own
// generated code (github.com/cilium/cilium v1.20.2, api/v1), for Kordon's
// wire-compatibility test (TestWireCompatibleWithCilium). It is not built
// with Kordon (testdata); run it from a throwaway module that requires
// Cilium: go run . ../  (from this folder, with such a go.mod).
package main

import (
	"os"
	"time"

	flowpb "github.com/cilium/cilium/api/v1/flow"
	"github.com/cilium/cilium/api/v1/observer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func write(name string, m proto.Message) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(os.Args[1]+"/"+name, b, 0o644); err != nil {
		panic(err)
	}
}

func main() {
	t := time.Date(2026, 3, 1, 10, 30, 0, 123456789, time.UTC)
	f := &flowpb.Flow{
		Time: timestamppb.New(t), Uuid: "1b4e28ba-2fa1-11d2-883f-0016d3cca427", Verdict: flowpb.Verdict_DROPPED,
		DropReasonDesc: flowpb.DropReason_POLICY_DENIED, Emitter: &flowpb.Emitter{Name: "Hubble", Version: "1.20.2"},
		Ethernet: &flowpb.Ethernet{Source: "aa:bb:cc:dd:ee:ff", Destination: "ff:ee:dd:cc:bb:aa"},
		IP:       &flowpb.IP{Source: "10.0.1.5", Destination: "10.0.2.7", IpVersion: flowpb.IPVersion_IPv4, Encrypted: true},
		L4:       &flowpb.Layer4{Protocol: &flowpb.Layer4_TCP{TCP: &flowpb.TCP{SourcePort: 40000, DestinationPort: 5432, Flags: &flowpb.TCPFlags{SYN: true}}}},
		Source: &flowpb.Endpoint{ID: 101, Identity: 2001, ClusterName: "prod", Namespace: "shop", PodName: "web-1",
			Labels: []string{"k8s:app=web"}, Workloads: []*flowpb.Workload{{Name: "web", Kind: "Deployment"}}},
		Destination: &flowpb.Endpoint{ID: 202, Identity: 2002, Namespace: "pay", PodName: "db-0",
			Workloads: []*flowpb.Workload{{Name: "db", Kind: "StatefulSet"}}},
		Type: flowpb.FlowType_L3_L4, NodeName: "prod/node-1", NodeLabels: []string{"zone=a"},
		TrafficDirection: flowpb.TrafficDirection_EGRESS, IsReply: wrapperspb.Bool(false),
		DestinationNames: []string{"db.pay.svc"}, EventType: &flowpb.CiliumEventType{Type: 1, SubType: 133},
		TraceObservationPoint: flowpb.TraceObservationPoint_TO_ENDPOINT,
		EgressDeniedBy:        []*flowpb.Policy{{Name: "deny-db", Namespace: "pay", Kind: "CiliumNetworkPolicy"}},
	}
	write("cilium-flow-response.bin", &observer.GetFlowsResponse{ResponseTypes: &observer.GetFlowsResponse_Flow{Flow: f},
		NodeName: "prod/node-1", Time: timestamppb.New(t)})
	write("cilium-lost-response.bin", &observer.GetFlowsResponse{ResponseTypes: &observer.GetFlowsResponse_LostEvents{LostEvents: &flowpb.LostEvent{
		Source: flowpb.LostEventSource_HUBBLE_RING_BUFFER, NumEventsLost: 4242, Cpu: wrapperspb.Int32(3),
		First: timestamppb.New(t), Last: timestamppb.New(t.Add(time.Second))}}, NodeName: "prod/node-2"})
	write("cilium-status-response.bin", &observer.ServerStatusResponse{NumFlows: 4095, MaxFlows: 4096, SeenFlows: 123456,
		UptimeNs: 3_600_000_000_000, NumConnectedNodes: wrapperspb.UInt32(3), Version: "1.20.2", FlowsRate: 12.5})
	write("cilium-request.bin", &observer.GetFlowsRequest{Follow: true, Since: timestamppb.New(t)})
}
