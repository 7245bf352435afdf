// Package parallel runs independent pieces of work on a bounded number of goroutines: pmeter's one worker
// pool for work inside a process (model training has its own scheduler, nn/sched, which also bounds
// memory per model).
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
	return ForEach(ctx, n, workers, func() struct{} { return struct{}{} },
		func(ctx context.Context, _ struct{}, i int) error { return f(ctx, i) })
}

// ForEach is For with state per goroutine: each goroutine calls worker once for its own scratch space w
// and then f(ctx, w, i) for the indices it takes.
func ForEach[W any](ctx context.Context, n, workers int, worker func() W, f func(ctx context.Context, w W, i int) error) error {
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
			w := worker()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if errs[i] = f(ctx, w, i); errs[i] != nil {
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

// Blocks calls f on consecutive blocks [lo, hi) of at most size indices that cover [0, n), on up to
// GOMAXPROCS goroutines, and returns the error of the lowest failing block.
func Blocks(n, size int, f func(lo, hi int) error) error {
	nb := (n + size - 1) / size
	if nb <= 1 {
		return f(0, n)
	}
	return For(context.Background(), nb, 0, func(_ context.Context, b int) error {
		return f(b*size, min((b+1)*size, n))
	})
}
