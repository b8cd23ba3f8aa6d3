// Package bench measures the performance targets that docs/maintainers.md
// (Benchmarks) lists, on throwaway clusters: `make bench` runs it and
// prints the figures. It has no code of its own outside its tests.
package bench
