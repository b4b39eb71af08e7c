package dbtest

import (
	"fmt"
	"runtime"
)

var (
	sprintf       = fmt.Sprintf
	runtimeGoexit = runtime.Goexit
)
