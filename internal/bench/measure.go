package bench

import (
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"time"
)

// Measurement is the cost of one Go computation.
type Measurement struct {
	Best, Median time.Duration // wall time of the timed runs
	PeakHeap     uint64        // peak growth of the heap (live and not yet collected objects) during a run, bytes
	Allocated    uint64        // bytes allocated during a run
}

const (
	heapObjects = "/memory/classes/heap/objects:bytes"
	heapAllocs  = "/gc/heap/allocs:bytes"
)

// measure runs f once while sampling the heap every 100 µs (runtime/metrics, which does not stop the
// world), then repeats times for timing, each after a collection. f must do the same work every time.
func measure(repeats int, f func() error) (Measurement, error) {
	var m Measurement
	s := []metrics.Sample{{Name: heapObjects}, {Name: heapAllocs}}
	runtime.GC()
	metrics.Read(s)
	base, alloc0 := s[0].Value.Uint64(), s[1].Value.Uint64()

	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		sample := []metrics.Sample{{Name: heapObjects}}
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	err := f()
	metrics.Read(s)
	close(done)
	wg.Wait()
	if err != nil {
		return m, err
	}
	peak = max(peak, s[0].Value.Uint64())
	if peak > base {
		m.PeakHeap = peak - base
	}
	m.Allocated = s[1].Value.Uint64() - alloc0

	times := make([]time.Duration, 0, repeats)
	for range max(repeats, 1) {
		runtime.GC()
		t0 := time.Now()
		if err := f(); err != nil {
			return m, err
		}
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	m.Best, m.Median = times[0], times[len(times)/2]
	return m, nil
}
