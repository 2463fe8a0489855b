import ArgumentParser
import Foundation
import Settings

/// `--store`, the SQLite store a command reads or writes.
struct StoreOption: ParsableArguments {
    @Option(help: "The SQLite store file (written by `twotower ingest`).")
    var store: String
}

/// `--store` where a command can do without one.
struct OptionalStoreOption: ParsableArguments {
    @Option(help: "The SQLite store file, to name items by their raw ids.")
    var store: String?
}

/// `--model`, a model directory.
struct ModelOption: ParsableArguments {
    @Option(help: "The model directory written by `twotower train` (or its model.ckpt).")
    var model: String
}

/// `--index`, an index directory.
struct IndexOption: ParsableArguments {
    @Option(help: "The index directory written by `twotower build-index` (or one of its version directories).")
    var index: String
}

/// `--json`.
struct JSONFlag: ParsableArguments {
    @Flag(help: "Print JSON instead of a table.")
    var json = false
}

/// `--seed`; each command says which default it falls back to.
struct SeedOption: ParsableArguments {
    @Option(parsing: .unconditional, help: "Seed for every random choice (default: the configuration's).")
    var seed: UInt64?
}

/// `--split-name`.
struct SplitNameOption: ParsableArguments {
    @Option(name: .customLong("split-name"), help: "The split to use (see `twotower stats`; default: the model's, or the store's only one).")
    var splitName: String?
}

/// Loads a configuration file: `explicit` must exist when given; without it, `fallback` is read
/// when it exists (run from the repository) and the built-in defaults are used when it does not
/// (run from anywhere else).
func loadConfig<T: DefaultedConfig>(_ type: T.Type, explicit: String?, fallback: String) throws -> T {
    if let explicit { return try ConfigLoader.load(T.self, from: explicit) }
    return FileManager.default.fileExists(atPath: fallback) ? try ConfigLoader.load(T.self, from: fallback) : T()
}

/// Range checks for numeric options, with the option's name and the range in the message.
func check<T: Comparable>(_ value: T, in range: ClosedRange<T>, _ option: String) throws {
    guard range.contains(value) else { throw ValidationError("\(option) must be in \(range.lowerBound)…\(range.upperBound), not \(value)") }
}

func check<T: Comparable>(_ value: T, atLeast minimum: T, _ option: String) throws {
    guard value >= minimum else { throw ValidationError("\(option) must be at least \(minimum), not \(value)") }
}
