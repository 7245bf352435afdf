package parallel

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestFor(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{0, 0}, {1, 0}, {7, 1}, {100, 3}, {5, 50}} {
		out := make([]int, tc.n)
		if err := For(context.Background(), tc.n, tc.workers, func(_ context.Context, i int) error {
			out[i] = i * i
			return nil
		}); err != nil {
			t.Fatalf("n %d workers %d: %v", tc.n, tc.workers, err)
		}
		for i, v := range out {
			if v != i*i {
				t.Fatalf("n %d workers %d: out[%d] = %d, want %d", tc.n, tc.workers, i, v, i*i)
			}
		}
	}
}

func TestForError(t *testing.T) {
	err := For(context.Background(), 50, 2, func(_ context.Context, i int) error {
		if i == 7 || i == 9 {
			return fmt.Errorf("piece %d", i)
		}
		return nil
	})
	if err == nil || err.Error() != "piece 7" {
		t.Errorf("error %v, want piece 7 (the lowest failing index)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := 0
	if err := For(ctx, 10, 1, func(context.Context, int) error { ran++; return nil }); !errors.Is(err, context.Canceled) || ran != 0 {
		t.Errorf("cancelled context: error %v after %d pieces, want context.Canceled after 0", err, ran)
	}
}
