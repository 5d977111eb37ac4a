// Package featureflags evaluates feature flags written in flagd's flag
// definition format in-process, so that the same file works unchanged when
// a team moves to flagd, OpenFeature's flag daemon.
//
// This first version evaluates static flags (state, variants,
// defaultVariant) from JSON, with flagd's reasons and error codes, and keeps
// a flag file current ([OpenFile]): rename-into-place and Kubernetes'
// ..data symlink swaps are followed, bursts coalesce, and a bad file keeps
// the last good flags. A file that uses targeting is rejected with a clear
// error rather than evaluated wrongly; later work adds targeting (JSONLogic
// with flagd's operations) and YAML.
package featureflags
