package restore

// logStart says, before the first table is loaded, how much the restore will load: the
// estimate a progress bar counts the "restored table" records against.
func (s *session) logStart(secs []*section) {
	var raw int64
	tables := 0
	for _, sec := range secs {
		if sec.kind == kindData {
			raw += sec.r.RawLength
			tables++
		}
	}
	s.log.Info("restore started", "id", s.m.ID, "tables_total", tables, "bytes_total", raw)
}
