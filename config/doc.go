// Package config loads a service's configuration into the service's own
// struct, says where every value came from, keeps it current as its files
// change, and reports every bad input at once without ever echoing a value.
//
// Layers, later wins (see [LoadAll]): struct defaults (`envDefault` tags);
// config/base.yaml and config/<ENVIRONMENT>.yaml (or .json), whose keys
// bind relaxed to the variable names, as Spring Boot's do: nested mappings,
// lower case and kebab case ("shutdown: {timeout: 30s}",
// "shutdown-timeout: 30s") set the same variable as SHUTDOWN_TIMEOUT, and
// sequences and mappings fill slice and map fields; environment variables (`env` tags, with an optional
// prefix), parsed by github.com/caarlos0/env/v11; and, for fields of type
// [secrets.Secret], references resolved through the secrets package
// ("vault:kv/data/app#password", "file:/var/run/secrets/db", "env:NAME"),
// in any layer. In staging and production a secret must come from a vault:
// or file: reference.
//
// Every problem names its file, line and column or its variable, the field
// and why, validation problems included: unknown keys (in the form they
// were written) and unknown prefixed variables get the closest valid name,
// syntax errors the parser's reason, and values that do not parse the form
// wanted, with an example. Reading is bounded: each file is read up to
// Options.MaxFileSize (1 MiB by default) and no further, a YAML document
// whose aliases would stand for more than 10,000 values (an alias bomb) is
// refused at the alias's line before anything expands it, an [Error] lists
// at most [MaxProblems] problems, sorted by file, line and column, then
// "and N more problems". A file that is there but cannot be read (a
// dangling symbolic link, a directory, no permission) is a problem, not a
// missing file; a file the last good load read that is gone fails a
// reload (Options.Previous, which [Watcher] sets), so a running service
// never falls back to the defaults silently. [Sources] records the layer of each value and the ones it
// shadowed; [Describe] shows them (secrets as [secrets.Redacted], by type),
// and [WriteText] and [WriteMarkdown] print a reference of the variables.
// [Watch] reloads when the files change (Kubernetes ConfigMap swaps
// included), swapping in only a configuration that loads and validates.
// Package config/configtest helps service authors test theirs.
package config
