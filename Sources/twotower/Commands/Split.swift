import ArgumentParser
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

    @Option(help: "The SQLite store.")
    var store: String

    @Option(help: "Split method: leave-last-out, temporal-ratio, random-ratio, validation-from.")
    var method: String

    @Option(help: "Name of the split in the store (default: the method's name).")
    var name: String?

    @Option(help: "Fraction of each user's interactions for validation.")
    var validation = 0.1

    @Option(help: "Fraction of each user's interactions for test (ratio methods).")
    var test = 0.2

    @Option(help: "The split to carve validation from (validation-from).")
    var source: String?

    @Option(help: "Seed for random choices.")
    var seed: UInt64 = 7

    func validate() throws { _ = try splitMethod() }

    func splitMethod() throws -> SplitMethod {
        try SplitMethod(name: method, validation: validation, test: test, source: source, seed: seed)
    }

    func run() throws {
        let store = try InteractionStore(path: store, create: false)
        let method = try splitMethod()
        let splitName = name ?? method.methodName
        let counts = try Splitter(store: store).split(name: splitName, method: method)
        print("split '\(splitName)': " + SplitPart.allCases.map { "\($0.name) \(Format.count(counts[$0] ?? 0))" }.joined(separator: ", "))
    }
}

extension SplitMethod {
    /// The method named on the command line or in `Config/data.json`.
    init(name: String, validation: Double, test: Double, source: String?, seed: UInt64) throws {
        switch name {
        case "leave-last-out": self = .leaveLastOut
        case "temporal-ratio": self = .temporalRatio(validation: validation, test: test)
        case "random-ratio": self = .randomRatio(validation: validation, test: test, seed: seed)
        case "validation-from":
            guard let source else { throw ValidationError("validation-from needs --source, the split to carve validation from") }
            self = .validationFrom(source: source, fraction: validation, seed: seed)
        default:
            throw ValidationError("unknown split method '\(name)' (leave-last-out, temporal-ratio, random-ratio, validation-from)")
        }
    }
}
