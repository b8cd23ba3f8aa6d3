package report

// MarkdownText escapes s for Markdown text, on one line: for views of
// other packages (the access review) that write Markdown as this one does.
func MarkdownText(s string) string { return mdText(s) }

// MarkdownCode puts s in a code span that survives a table cell.
func MarkdownCode(s string) string { return mdCode(s) }
