package metric

import (
	"context"

	"github.com/pmeter/pmeter/internal/parallel"
)

// parallelFor calls f(i) for i in [0, n) on up to GOMAXPROCS goroutines. Each f(i) must write only its
// own outputs, so that results do not depend on the schedule.
func parallelFor(n int, f func(i int)) {
	parallel.For(context.Background(), n, 0, func(_ context.Context, i int) error {
		f(i)
		return nil
	})
}
