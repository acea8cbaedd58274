package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	uberzap "go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// countingCore counts the With calls that reach the encoding core.
type countingCore struct {
	zapcore.Core
	withs *int
}

func (c countingCore) With(fields []zapcore.Field) zapcore.Core {
	*c.withs++
	return countingCore{c.Core.With(fields), c.withs}
}

func (c countingCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func TestLazyFields(t *testing.T) {
	tests := map[string]struct {
		log       func(*uberzap.Logger)
		wantWiths int
		wantLines []map[string]any
	}{
		"not written: nothing encoded": {
			log:       func(l *uberzap.Logger) { l.Debug("below the level") },
			wantWiths: 0,
		},
		"written: every field, in order": {
			log:       func(l *uberzap.Logger) { l.Info("done", uberzap.String("c", "3")) },
			wantWiths: 2,
			wantLines: []map[string]any{{"msg": "done", "level": "info", "a": "1", "b": "2", "c": "3"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			withs := 0
			enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{
				MessageKey: "msg", LevelKey: "level", EncodeLevel: zapcore.LowercaseLevelEncoder,
			})
			base := countingCore{zapcore.NewCore(enc, zapcore.AddSync(&out), zapcore.InfoLevel), &withs}
			l := uberzap.New(base, lazyFields()).With(uberzap.String("a", "1")).With(uberzap.String("b", "2"))
			tc.log(l)
			if withs != tc.wantWiths {
				t.Errorf("fields encoded by %d With calls; want %d", withs, tc.wantWiths)
			}
			var lines []map[string]any
			for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
				if len(line) == 0 {
					continue
				}
				var m map[string]any
				if err := json.Unmarshal(line, &m); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				lines = append(lines, m)
			}
			if diff := cmp.Diff(tc.wantLines, lines); diff != "" {
				t.Errorf("log lines (-want +got):\n%s", diff)
			}
		})
	}
}
