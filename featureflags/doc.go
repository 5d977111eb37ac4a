// Package featureflags evaluates feature flags written in flagd's flag
// definition format in-process, so that the same file works unchanged when
// a team moves to flagd, OpenFeature's flag daemon.
//
// [Parse] reads JSON or YAML: flags with state, variants, defaultVariant,
// targeting and metadata, and shared $evaluators. Targeting is JSONLogic,
// compiled once into an evaluator, with flagd's own operations: fractional
// (bucketed as flagd does since its high-precision bucketing: MurmurHash3
// x86 32 over the bucketing string, hash × total weight >> 32), sem_ver,
// starts_with and ends_with. Results carry flagd's reasons and error codes.
// Evaluation ([Set.Bool], [Set.String], [Set.Int], [Set.Float], [Object],
// and their Details forms) takes an [EvalContext] and does not allocate for
// static flags nor for the common rules.
//
// [OpenFile] keeps a file's flags current: rename-into-place and
// Kubernetes' ..data symlink swaps are followed, bursts coalesce, a bad
// file keeps the last good flags, each reload names the flags that
// changed, and FLAG_<KEY>=variant overrides a flag for local runs
// ([Set.WithOverrides]). The file is read up to FileOptions.MaxFileSize
// (1 MiB by default) and no further; a YAML file whose aliases would stand
// for more than 10,000 values (an alias bomb) is refused at the alias's line
// before anything expands them (so is such a document given to [Parse]); a
// dangling symbolic link or a directory is an error that says so. [Metrics] counts evaluations by flag, variant and
// reason. Package featureflags/ofprovider serves the same evaluator to the
// OpenFeature API; featureflags/flagtest is the conformance kit for flag
// sources.
package featureflags
