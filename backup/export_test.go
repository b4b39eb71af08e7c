package backup

// SetFrameBytes makes a dump cut its tables into chunks of about n bytes, so that tests on small
// data sets exercise chunked dumps and restores.
func SetFrameBytes(o *DumpOptions, n int) { o.frameBytes = n }
