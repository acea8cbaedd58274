package main

import (
	uberzap "go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// lazyFieldsCore defers the encoding of a logger's key-value pairs until
// the logger writes an entry. zap encodes them as soon as WithValues is
// called, and controller-runtime calls it for every reconcile (controller,
// kind, name, namespace, reconcileID): at 10,000 Collaborators that was a
// JSON buffer per pass and 40 % of the bytes a pass allocated, for log
// lines that, at the default level, are almost never written.
type lazyFieldsCore struct{ zapcore.Core }

// With returns a core that encodes fields, and those of any later With,
// only on its first entry.
func (c lazyFieldsCore) With(fields []zapcore.Field) zapcore.Core {
	return lazyFieldsCore{zapcore.NewLazyWith(c.Core, fields)}
}

// lazyFields is the zap option that installs lazyFieldsCore.
func lazyFields() uberzap.Option {
	return uberzap.WrapCore(func(c zapcore.Core) zapcore.Core { return lazyFieldsCore{c} })
}
