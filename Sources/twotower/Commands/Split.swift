import ArgumentParser
import Pipeline
import Settings
import Store

struct Split: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Divide a store's interactions into a named train/validation/test split.",
        discussion: """
            Methods (see ../shared/EVAL.md):
              leave-last-out   per user by time: last → test, second-to-last → validation (ties by item id)
              temporal-ratio   per user by time: the latest --test fraction → test, the --validation before it
              random-ratio     per user, seeded shuffle, then the same fractions
              validation-from  copy split --source and move --validation of each user's train part to validation
            The given split of LightGCN files is stored at ingest as 'given'. Re-running a split with the \
            same name replaces it.
            """
    )

    @OptionGroup var target: StoreOption

    @Option(help: "Split method: leave-last-out, temporal-ratio, random-ratio, validation-from.")
    var method: SplitMethodName

    @Option(help: "Name of the split in the store (default: the method's name).")
    var name: String?

    @Option(parsing: .unconditional, help: "Fraction of each user's interactions for validation, in [0, 1).")
    var validation = 0.1

    @Option(parsing: .unconditional, help: "Fraction of each user's interactions for test (ratio methods), in [0, 1).")
    var test = 0.2

    @Option(help: "The split to carve validation from (validation-from).")
    var source: String?

    @OptionGroup var seed: SeedOption

    func validate() throws {
        guard (0..<1).contains(validation) else { throw ValidationError("--validation must be in [0, 1), not \(validation)") }
        guard (0..<1).contains(test) else { throw ValidationError("--test must be in [0, 1), not \(test)") }
        guard validation + test < 1 else { throw ValidationError("--validation + --test must be below 1, not \(validation + test)") }
        if method == .given { throw ValidationError("'given' is the split stored by ingesting LightGCN files; choose a method that computes one") }
        _ = try splitMethod()
    }

    func splitMethod() throws -> SplitMethod {
        do {
            return try SplitMethod(name: method, validation: validation, test: test, source: source, seed: seed.seed ?? SplitConfig().seed)
        } catch let error as SplitMethodError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let method = try splitMethod()
        let splitName = name ?? method.methodName
        let counts = try StoreJobs.split(store: target.store, name: splitName, method: method)
        print("split '\(splitName)': " + SplitPart.allCases.map { "\($0.name) \(Format.count(counts[$0] ?? 0))" }.joined(separator: ", "))
    }
}

extension SplitMethodName: ExpressibleByArgument {}
