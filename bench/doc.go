// Package bench measures the performance targets that docs/maintainers.md
// (Benchmarks) lists, on throwaway clusters: `make bench` runs it and
// prints the figures. It has no code of its own outside its tests; its
// few tests (go test ./bench/) pin what a figure rests on, such as a read
// that must stay linear whatever plan the server picks.
package bench
