package binlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxEventSize bounds one event read from a segment: MariaDB's largest max_allowed_packet.
const maxEventSize = 1 << 30

// eventReader reads the events of a binlog file, checking its magic first.
type eventReader struct {
	r      *bufio.Reader
	offset int64 // of the next event in the file
	magic  bool
}

func newEventReader(r io.Reader) *eventReader {
	return &eventReader{r: bufio.NewReaderSize(r, 256<<10)}
}

// next returns the next event, and io.EOF at a clean end of the file.
func (er *eventReader) next() (event, error) {
	if !er.magic {
		var m [4]byte
		if _, err := io.ReadFull(er.r, m[:]); err != nil {
			return nil, fmt.Errorf("read binlog magic: %w", noEOF(err))
		}
		if !bytes.Equal(m[:], Magic) {
			return nil, errors.New("not a binlog file: its magic number is wrong")
		}
		er.magic, er.offset = true, 4
	}
	var h [headerSize]byte
	if _, err := io.ReadFull(er.r, h[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read event header at offset %d: %w", er.offset, noEOF(err))
	}
	size := event(h[:]).size()
	if size < headerSize || size > maxEventSize {
		return nil, fmt.Errorf("event at offset %d says it has %d bytes", er.offset, size)
	}
	ev := make(event, size)
	copy(ev, h[:])
	if _, err := io.ReadFull(er.r, ev[headerSize:]); err != nil {
		return nil, fmt.Errorf("read event at offset %d: %w", er.offset, noEOF(err))
	}
	er.offset += int64(size)
	return ev, nil
}

// noEOF turns an end of file inside an event into an error that says the file is cut short.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the file ends inside an event (truncated)")
	}
	return err
}
