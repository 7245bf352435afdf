package main

import (
	"context"
	"io"
)

// runAttack implements 'pmeter attack'. (Placeholder until the attack CLI lands.)
func runAttack(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usagef("not implemented yet")
}
