// Package bench holds only benchmarks that compare operable with the
// libraries Go teams use today. It is a module of its own so that those
// libraries never enter the SDK's dependencies.
package bench
