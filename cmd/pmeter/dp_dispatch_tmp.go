package main

import (
	"context"
	"fmt"
	"io"
)

// This file stands in for the 'pmeter dp' dispatcher of cmd/pmeter/dp.go, written on another branch
// (issue 11, items 1–2), so that 'pmeter dp audit' can be run and tested here; drop it at the merge.

const dpUsageTmp = `Usage:
  pmeter dp audit [flags]   lower-bound ε from an audit (run 'pmeter dp audit -h')
`

// runDP implements 'pmeter dp': it dispatches to the sub-command named by args[0].
func runDP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want a sub-command\n%s", dpUsageTmp)
	}
	switch args[0] {
	case "audit":
		return runDPAudit(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, dpUsageTmp)
		return nil
	}
	return usagef("unknown sub-command %q\n%s", args[0], dpUsageTmp)
}
