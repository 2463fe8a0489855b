import ArgumentParser
import Foundation
import LinearAlgebra

/// A benchmark's yardstick, not part of the pipeline: what BLAS reaches for the training step's
/// three products at a shape. Hidden from the command list.
struct SgemmRate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgemm-rate",
        abstract: "Measure sgemm GFLOP/s for the training step's three products at one shape (a benchmark yardstick).",
        shouldDisplay: false
    )

    @Option(parsing: .unconditional, help: "Rows (the batch size).")
    var rows = 2048

    @Option(parsing: .unconditional, help: "Candidates (batch plus extra negatives).")
    var columns = 3072

    @Option(parsing: .unconditional, help: "Embedding dimension.")
    var dimension = 192

    @Option(parsing: .unconditional, help: "Threads (default: every core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        let rate = BLAS.stepProductsRate(rows: rows, columns: columns, dimension: dimension, threads: threads)
        print(String(format: "%.1f GFLOP/s  (%d×%d×%d, %d threads, BLIS %@ kernels)", rate, rows, columns, dimension, threads, BLAS.kernels))
    }
}
