package format

import "log/slog"

// LogValue logs a binlog position as its fields (file, position, gtid), not as a Go struct;
// a nil position (binary logging off) as "off".
func (b *Binlog) LogValue() slog.Value {
	if b == nil {
		return slog.StringValue("off")
	}
	return slog.GroupValue(slog.String("file", b.File), slog.Uint64("position", b.Position), slog.String("gtid", b.GTID))
}
