// Package featureflags evaluates feature flags written in flagd's flag
// definition format in-process, so that the same file works unchanged when
// a team moves to flagd, OpenFeature's flag daemon.
//
// [Parse] reads JSON or YAML: flags with state, variants, defaultVariant,
// targeting and metadata, and shared $evaluators. Targeting is JSONLogic,
// compiled once into an evaluator: every operation of JSONLogic with its
// reference semantics (json-logic-js, whose conformance suite,
// jsonlogic.com/tests.json, the tests run), list operations included (map,
// filter, reduce with current and accumulator, all, none, some, merge,
// missing, missing_some), and flagd's own operations: fractional (bucketed
// as flagd does since its high-precision bucketing: MurmurHash3 x86 32 over
// the bucketing string, hash × total weight >> 32), sem_ver, starts_with
// and ends_with. Results carry flagd's reasons and error codes.
// Evaluation ([Set.Bool], [Set.String], [Set.Int], [Set.Float], [Object],
// and their Details forms) takes an [EvalContext] and does not allocate for
// static flags nor for the common rules, some, all, none and reduce over a
// list of the context included (what builds a new list, map, filter,
// merge, does).
//
// How targeting reads values, as JSONLogic does: false, null, 0, "" and an
// empty list are falsy, everything else (objects too) truthy; inside map,
// filter, all, none and some, var reads the element ({"var": ""} is the
// element itself), inside reduce {"current": element, "accumulator": so far};
// a var path may index a list ("groups.0") and may be computed
// ({"var": [{"if": [...]}]}); all of an empty list is false. log evaluates
// to its argument and writes nothing: an evaluation never writes to stdout
// or a log. One evaluation has a budget of 262,144 steps (list elements
// visited or built, bytes of text built): a rule that would go past it (a
// reduce doubling its accumulator) stops and gives null, so the flag gives
// its default variant, in bounded time and memory.
//
// Behaviour changes with issue 21, to match flagd and JSONLogic where this
// package differed:
//   - map, filter, reduce, all, none, some, merge, missing_some and log
//     were a PARSE_ERROR; they evaluate.
//   - var accepts a computed path, reads "" or null as the whole data, and
//     indexes lists; its default replaces a path that names nothing, no
//     longer one that names a null.
//   - missing (and missing_some) count an attribute that is "" as missing,
//     as the reference does.
//   - sem_ver reads any value as text first, as flagd does
//     (fmt.Sprintf("%v")): a number 1.2 matches ">", "1.1" (it was null).
//     ~ compares the major and minor versions only and ^ the major only, as
//     flagd does: "1.2.3" ~ "1.2.6" is true (it was false, ~ and ^ requiring
//     the left side not lower).
//   - fractional without a targeting key (or with an empty one) gives null,
//     so the flag gives its default variant, reason DEFAULT, as current
//     flagd does (it bucketed on the flag key alone); a custom bucketing
//     expression that gives null falls back to the flag key and the
//     targeting key (it gave null), and one that gives something other than
//     a string (a number) gives null (it hashed its text).
//
// [OpenFile] keeps a file's flags current: rename-into-place and
// Kubernetes' ..data symlink swaps are followed, bursts coalesce, a bad
// file keeps the last good flags, each reload names the flags that
// changed ([File.Subscribe], FileOptions.OnReload), and FLAG_<KEY>=variant
// overrides a flag for local runs ([Set.WithOverrides]). The file is read
// up to FileOptions.MaxFileSize (1 MiB by default) and no further; a YAML
// file whose aliases would stand for more than 10,000 values (an alias
// bomb) is refused at the alias's line before anything expands them (so is
// such a document given to [Parse]); a dangling symbolic link or a
// directory is an error that says so. [Metrics] counts evaluations by
// flag, variant and reason. Package featureflags/ofprovider serves the same
// evaluator to the OpenFeature API, with its provider events
// (PROVIDER_CONFIGURATION_CHANGED with the changed keys on each reload,
// PROVIDER_STALE and PROVIDER_READY as the file goes bad and recovers);
// featureflags/flagtest is the conformance kit for flag sources.
package featureflags
