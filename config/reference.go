package config

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes a reference of the fields (as [Describe] returns them)
// for a terminal: one line per variable with its type, default, whether it
// is required or secret, and its description (the `desc` tag).
func WriteText(w io.Writer, fields []Field) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tTYPE\tDEFAULT\tFLAGS\tDESCRIPTION")
	for _, f := range fields {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Var, f.Type, f.Default, flags(f), f.Description)
	}
	return tw.Flush()
}

// WriteMarkdown writes the same reference as a Markdown table, for a
// service's README.
func WriteMarkdown(w io.Writer, fields []Field) error {
	var b strings.Builder
	b.WriteString("| Variable | Type | Default | | Description |\n|---|---|---|---|---|\n")
	cell := func(s string) string {
		return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
	}
	for _, f := range fields {
		def := ""
		if f.Default != "" {
			def = "`" + cell(f.Default) + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.Var, cell(f.Type), def, flags(f), cell(f.Description))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func flags(f Field) string {
	var fl []string
	if f.Required {
		fl = append(fl, "required")
	}
	if f.Secret {
		fl = append(fl, "secret")
	}
	return strings.Join(fl, ", ")
}
