package metric

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelFor calls f(i) for i in [0, n) on up to GOMAXPROCS goroutines. Each f(i) must write only its
// own outputs, so that results do not depend on the schedule.
func parallelFor(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}
