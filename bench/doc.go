// Package bench measures the performance targets of the issues on
// throwaway clusters: `make bench` runs it and prints the figures the
// closing notes report. It has no code of its own outside its tests.
package bench
