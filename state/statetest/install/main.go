// Command install puts Azurite into the repository's .tools/azurite (make azurite), as the blob state
// tests do when it is missing.
package main

import (
	"fmt"
	"os"

	"github.com/fabplan/fabplan/state/statetest"
)

func main() {
	bin, err := statetest.InstallAzurite()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(bin)
}
