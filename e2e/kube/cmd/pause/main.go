// Command pause is the node's sandbox ("pause") container: it holds the pod's namespaces and
// does nothing until it is told to stop. It is a static Go program, so the image needs nothing
// else and no registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
