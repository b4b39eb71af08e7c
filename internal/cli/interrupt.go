package cli

import (
	"context"
	"errors"
	"strings"
)

// interruptedError is a run stopped by SIGINT or SIGTERM, said the way a person reads it: what
// was going on, never "context canceled". It still matches context.Canceled (exit code 130).
type interruptedError struct{ err error }

func (e *interruptedError) Error() string {
	during := strings.TrimSpace(strings.ReplaceAll(e.err.Error(), context.Canceled.Error(), ""))
	during = strings.Trim(during, ": ")
	if during == "" {
		return "interrupted by a signal; an upload in progress was aborted, a restore in progress left its target partial"
	}
	return "interrupted by a signal during: " + during + "; an upload in progress was aborted, a restore in progress left its target partial"
}

func (e *interruptedError) Unwrap() error { return e.err }

// forPeople returns err, or for a run that a signal stopped the same error said for a person.
func forPeople(err error) error {
	var ie *interruptedError
	if err == nil || !errors.Is(err, context.Canceled) || errors.As(err, &ie) {
		return err
	}
	return &interruptedError{err: err}
}
