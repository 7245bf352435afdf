package main

import (
	"context"
	"io"
)

// runBench implements 'pmeter bench'. (Placeholder until the bench command lands.)
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usagef("not implemented yet")
}
