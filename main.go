// Command parley is a self-hosted comment service for blogs: it takes comments
// from an embeddable widget, holds every one for moderation and serves the
// approved ones. See README.md; the commands live in package cli.
package main

import (
	"context"
	"os"

	"parley/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
