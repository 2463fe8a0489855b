#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import ArgumentParser
import Foundation
import LinearAlgebra

/// The `twotower` tool: every job of the retrieval pipeline as a subcommand.
@main
struct TwoTowerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twotower",
        abstract: "Train, index, serve and evaluate two-tower retrieval models.",
        discussion: """
            The pipeline: synth or ingest interactions into a SQLite store, split them, train the \
            towers, build the IVF index over the item embeddings, serve top-K queries over HTTP and \
            evaluate recall, exactly and through the index. `twotower demo` runs the whole \
            pipeline on the built-in synthetic data set. Every command runs from any directory: a \
            default configuration file under Config/ that is absent means the built-in defaults.
            """,
        subcommands: [Demo.self, Synth.self, Ingest.self, Split.self, Stats.self, Train.self, Tune.self, Embed.self, Evaluate.self,
                      BuildIndex.self, UpdateIndex.self, RebuildIndex.self, Search.self, IndexStats.self, AnnEval.self, Serve.self,
                      Recommend.self, PublishShards.self, ReportCommand.self, SgemmRate.self]
    )

    static func main() async {
        // Progress lines reach a log file or pipe as they are printed, not when a buffer fills.
        setvbuf(stdout, nil, _IOLBF, 0)
        // While the process has one thread: the BLAS kernels for this CPU, every core for products.
        BLAS.selectKernels()
        // A bad command line is a usage error (the message, the usage, exit 64); anything that goes
        // wrong once the command runs is a runtime failure (the message alone, exit 1).
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let error as ValidationError {
            FileHandle.standardError.write(Data("Error: \(error.message)\n".utf8))
            Foundation.exit(1)
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // Help, version and the parser's own errors, which `help` subcommands raise from run().
            exit(withError: error)
        } catch {
            FileHandle.standardError.write(Data("Error: \(describe(error))\n".utf8))
            Foundation.exit(1)
        }
    }

    /// The message of an error: Foundation's for its own errors (file system, JSON), else the
    /// error's description, which names the input for every error of this project.
    static func describe(_ error: Error) -> String {
        if error is CocoaError || type(of: error) is NSError.Type { return (error as NSError).localizedDescription }
        return "\(error)"
    }
}
