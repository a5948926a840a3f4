// Command fabplan deploys Microsoft Fabric estates from Starlark plans.
package main

import (
	"os"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/root"
)

func main() { os.Exit(root.Main()) }
