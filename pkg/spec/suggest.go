package spec

// Suggest returns the candidate that got is most likely a misspelling of
// (a different case, or a letter or two off), or "" when none is close:
// the "did you mean" of the files' problems, for the command line too.
func Suggest(got string, candidates []string) string { return suggest(got, candidates) }
