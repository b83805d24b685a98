package api_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

// TestDevicePollsPerDeployment: two devices of one commune poll two
// different replicas; loa_devices_not_polled, scraped from either
// replica, counts both as polled: the figure is the deployment's.
func TestDevicePollsPerDeployment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs := sqlstoretest.Replicas(t, 2)
	broadcasttest.LoadRegistry(t, dbs[0], broadcasttest.DemoRegistry)
	polls := []*api.DevicePolls{{Store: dbs[0]}, {Store: dbs[1]}}
	for i := range 2 {
		dev, _, err := dbs[0].CreateDevice(ctx, "muong-lan", "loa "+string(rune('A'+i)))
		if err != nil {
			t.Fatal(err)
		}
		polls[i].Seen(dev) // device i polls replica i, which stores it in the background
		if err := polls[i].Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range polls {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(p)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "commune" {
						got[l.GetValue()] = m.GetGauge().GetValue()
					}
				}
			}
		}
		if n, ok := got["muong-lan"]; !ok || n != 0 {
			t.Errorf("scraped from replica %d: muong-lan has %v devices not polled (listed: %v), want 0: both polled, each through one replica", i, n, ok)
		}
	}
}
