package diff

import "path"

// protectedBy returns the first pattern that matches name, or "".
func protectedBy(patterns []string, name string) string {
	for _, p := range patterns {
		if ok, err := path.Match(p, name); err == nil && ok {
			return p
		}
	}
	return ""
}
