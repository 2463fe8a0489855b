import ArgumentParser
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The `twotower` tool: every job of the retrieval pipeline as a subcommand.
@main
struct TwoTowerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twotower",
        abstract: "Train, index, serve and evaluate two-tower retrieval models.",
        discussion: """
            The pipeline: synth or ingest interactions into a SQLite store, split them, then (as they \
            land) train the towers, build the IVF index, serve top-K queries and evaluate recall.
            `twotower demo` runs the whole pipeline on the built-in synthetic data set.
            """,
        subcommands: [Demo.self, Synth.self, Ingest.self, Split.self, Stats.self, Train.self, Embed.self, Evaluate.self,
                      BuildIndex.self, UpdateIndex.self, RebuildIndex.self, Search.self, IndexStats.self, AnnEval.self, Serve.self, ReportCommand.self]
    )

    static func main() async {
        // Progress lines reach a log file or pipe as they are printed, not when a buffer fills.
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
