package access

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
)

// Output formats of -o.
const (
	// FormatTable is kubectl-like columns for people.
	FormatTable = "table"
	// FormatJSON is a List, through the cli-runtime JSON printer.
	FormatJSON = "json"
	// FormatYAML is the same List as YAML.
	FormatYAML = "yaml"
	// FormatCSV is a header row and one record per row, for spreadsheets.
	FormatCSV = "csv"
)

// Formats lists the -o values, for the flag's help and its check.
var Formats = []string{FormatTable, FormatJSON, FormatYAML, FormatCSV}

// csvHeader is the CSV header: the JSON field names, in the same order, so
// that one documentation serves both.
var csvHeader = []string{
	"namespace", "name", "source", "provider", "target", "member", "email",
	"access", "state", "expiresAt", "declaredElsewhere", "note",
}

// Print writes rows to w in format; now is the time "in 5d" counts from.
func Print(w io.Writer, format string, rows []Row, now time.Time) error {
	switch format {
	case FormatTable, "":
		return printTable(w, rows, now)
	case FormatJSON:
		return wrap((&printers.JSONPrinter{}).PrintObj(NewList(rows), w))
	case FormatYAML:
		return wrap((&printers.YAMLPrinter{}).PrintObj(NewList(rows), w))
	case FormatCSV:
		return printCSV(w, rows)
	}
	return fmt.Errorf("unknown output format %q; use one of %s", format, strings.Join(Formats, ", "))
}

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("printing the rows: %w", err)
	}
	return nil
}

// printTable prints kubectl-like columns through the tab writer kubectl
// uses, so that the table looks like `kubectl get`'s.
func printTable(w io.Writer, rows []Row, now time.Time) error {
	tw := printers.GetNewTabWriter(w)
	if _, err := fmt.Fprintln(tw, "NAMESPACE\tNAME\tPROVIDER\tTARGET\tMEMBER\tACCESS\tSTATE\tEXPIRES"); err != nil {
		return wrap(err)
	}
	for i := range rows {
		r := &rows[i]
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(r.Namespace), dash(r.Name),
			dash(r.Provider), dash(r.Target), dash(r.Member), dash(r.Access), dash(r.State), Expires(r.ExpiresAt, now))
		if err != nil {
			return wrap(err)
		}
	}
	return wrap(tw.Flush())
}

func printCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return wrap(err)
	}
	for i := range rows {
		r := &rows[i]
		expires := ""
		if r.ExpiresAt != nil {
			expires = r.ExpiresAt.UTC().Format(time.RFC3339)
		}
		err := cw.Write([]string{
			r.Namespace, r.Name, r.Source, r.Provider, r.Target, r.Member, r.Email,
			r.Access, r.State, expires, strconv.FormatBool(r.DeclaredElsewhere), r.Note,
		})
		if err != nil {
			return wrap(err)
		}
	}
	cw.Flush()
	return wrap(cw.Error())
}

// Expires is the EXPIRES column: "in 5d", "expired 2d ago", or "-" when the
// access does not expire. It uses kubectl's short durations (largest unit
// only), since a review needs the order of magnitude, not the minute.
func Expires(t *metav1.Time, now time.Time) string {
	switch {
	case t == nil:
		return "-"
	case t.After(now):
		return "in " + duration.ShortHumanDuration(t.Sub(now))
	}
	return "expired " + duration.ShortHumanDuration(now.Sub(t.Time)) + " ago"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
