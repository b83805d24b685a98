package api_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sonla-cchc/loa/pipeline"
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

// TestDevicePollsGranularity: a device's last poll is recorded to within
// DevicePollGranularity and never moved back: a poll within it of the
// last one recorded leaves the stored poll as it was, the next one after
// it is stored, an earlier time changes nothing. The stored poll is read
// back through DevicesNotPolled (counted when before since).
func TestDevicePollsGranularity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	broadcasttest.LoadRegistry(t, db, broadcasttest.DemoRegistry)
	dev, _, err := db.CreateDevice(ctx, "muong-lan", "loa 1")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
	polls := &api.DevicePolls{Store: db}
	stored := func(t *testing.T, want time.Time) {
		t.Helper()
		if err := polls.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		// Stored at want: not counted since want, counted since just after.
		for _, c := range []struct {
			since time.Time
			n     int
		}{{want, 0}, {want.Add(time.Millisecond), 1}} {
			got, err := db.DevicesNotPolled(ctx, c.since)
			if err != nil {
				t.Fatal(err)
			}
			if got["muong-lan"] != c.n {
				t.Errorf("devices not polled since %s: %d, want %d (the stored poll should be %s)", c.since.Format(time.RFC3339Nano), got["muong-lan"], c.n, want.Format(time.RFC3339Nano))
			}
		}
	}
	for _, step := range []struct {
		name string
		at   time.Duration // after t0
		want time.Duration // the stored poll, after t0
	}{
		{"first poll", 0, 0},
		{"within the granularity", api.DevicePollGranularity / 2, 0},
		{"just within it", api.DevicePollGranularity - time.Millisecond, 0},
		{"at the granularity", api.DevicePollGranularity, api.DevicePollGranularity},
		{"the clock went back", 0, api.DevicePollGranularity},
		{"ten seconds on", 10 * time.Second, 10 * time.Second},
	} {
		t.Run(step.name, func(t *testing.T) {
			polls.SeenAt(dev, t0.Add(step.at))
			stored(t, t0.Add(step.want))
		})
	}
}

// TestDevicePollsConcurrent: many polls of many devices at once (run it
// with -race) leave each device's latest poll recorded, and written.
func TestDevicePollsConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	broadcasttest.LoadRegistry(t, db, broadcasttest.DemoRegistry)
	const devices, rounds = 8, 50
	var users []pipeline.User
	for i := range devices {
		dev, _, err := db.CreateDevice(ctx, "to-hieu", fmt.Sprintf("loa %d", i))
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, dev)
	}
	t0 := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
	polls := &api.DevicePolls{Store: db}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for r := range rounds {
				for _, u := range users {
					polls.SeenAt(u, t0.Add(time.Duration(r*4+g)*time.Second))
				}
			}
		})
	}
	wg.Wait()
	if err := polls.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	last := t0.Add(time.Duration((rounds-1)*4+3) * time.Second)
	for since, want := range map[time.Time]int{last: 0, last.Add(time.Millisecond): devices} {
		got, err := db.DevicesNotPolled(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		if got["to-hieu"] != want {
			t.Errorf("devices not polled since %s: %d, want %d (each device's last poll is %s)", since.Format(time.RFC3339Nano), got["to-hieu"], want, last.Format(time.RFC3339Nano))
		}
	}
}
