package main

import (
	"context"
	"errors"
	"io"
)

// runDPAudit implements 'pmeter dp audit'. Placeholder until the audit statistics land.
func runDPAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented")
}
