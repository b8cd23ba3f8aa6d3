// Package bench measures the performance targets of the issues on
// throwaway clusters: `make bench` runs it and prints the figures the
// closing notes report. It has no code of its own outside its tests; its
// few tests (go test ./bench/) pin what a figure rests on, such as a read
// that must stay linear whatever plan the server picks.
package bench
