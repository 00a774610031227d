// Command kmodscope reads, shows and checks Linux kernel modules.
package main

import (
	"os"

	"github.com/kmodscope/kmodscope/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
