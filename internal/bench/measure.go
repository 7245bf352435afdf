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

// heapObjects is the runtime/metrics name of runtime.MemStats.HeapAlloc: bytes of live heap objects and
// of dead ones not yet swept. Reading it does not stop the world, but small allocations show up only
// when their span is handed out, so the exact before and after values come from runtime.ReadMemStats.
const heapObjects = "/memory/classes/heap/objects:bytes"

// measure runs f once while sampling the heap every 100 µs, then repeats times for timing, each after a
// collection. f must do the same work every time.
func measure(repeats int, f func() error) (Measurement, error) {
	var m Measurement
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

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
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&after)
	if err != nil {
		return m, err
	}
	peak = max(peak, after.HeapAlloc)
	if peak > before.HeapAlloc {
		m.PeakHeap = peak - before.HeapAlloc
	}
	m.Allocated = after.TotalAlloc - before.TotalAlloc

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
