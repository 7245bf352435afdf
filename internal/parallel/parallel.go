// Package parallel runs independent pieces of work on a bounded number of goroutines.
package parallel

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls f(ctx, i) for every i in [0, n) on at most workers goroutines (0: runtime.GOMAXPROCS(0)),
// taking the indices in increasing order. Each f(ctx, i) must write only its own outputs, so that the
// results do not depend on the schedule. The first error (by index) is returned; after an error, or once
// ctx is done, no further index is started, and ctx's error is returned when no f failed.
func For(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if errs[i] = f(ctx, i); errs[i] != nil {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
