package flowlog

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// churnedHistory is a day of a busy cluster: 50,000 addresses, each held
// by 4 pods in turn (a pod every 6 hours), as a pod watch records them.
func churnedHistory(b *testing.B) (*History, []netip.Addr, time.Time) {
	b.Helper()
	h := NewHistory()
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ips := make([]netip.Addr, 50000)
	for i := range ips {
		ips[i] = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		for k := range 4 {
			from := day.Add(time.Duration(k) * 6 * time.Hour)
			pod := Pod{Namespace: fmt.Sprintf("ns-%d", i%50), Name: fmt.Sprintf("app-%d-%d", i, k), Workload: fmt.Sprintf("ReplicaSet/app-%d", i%1000)}
			h.Add(ips[i], pod, from, from.Add(6*time.Hour-time.Second))
		}
	}
	return h, ips, day
}

// BenchmarkHistoryLookup attributes one flow end: the pod that held an
// address at a time, among 200,000 holds.
func BenchmarkHistoryLookup(b *testing.B) {
	h, ips, day := churnedHistory(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := h.Lookup(ips[i%len(ips)], day.Add(time.Duration(i%86400)*time.Second)); !ok && i%86400%21600 < 21599 {
			b.Fatal("not attributed")
		}
		i++
	}
}

// BenchmarkHistoryAdd records pod holds as a pod watch does on a busy
// cluster (each Add also meets the address's earlier holds).
func BenchmarkHistoryAdd(b *testing.B) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	pods := make([]Pod, 1000)
	for i := range pods {
		pods[i] = Pod{Namespace: "ns", Name: fmt.Sprintf("app-%d", i)}
	}
	h := NewHistory()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8 % 200), byte(i)})
		h.Add(ip, pods[i%len(pods)], day.Add(time.Duration(i)*time.Second), time.Time{})
		i++
	}
}
