import ArgumentParser
import Foundation
import VectorIndex

struct IndexStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index-stats",
        abstract: "Describe an index: size, list sizes and imbalance, bytes on disk.",
        discussion: """
            Imbalance is FAISS's factor nlist · Σ size² / n²: 1 for equal lists, larger when a few \
            lists hold most vectors (searches then scan more than nprobe/nlist of the data).
            """
    )

    @Option(help: "The index directory (or a version directory).")
    var index: String

    @Flag(help: "Print JSON.")
    var json = false

    struct Report: Codable {
        var path: String
        var metadata: IndexMetadata
        var versions: [String]
        var listSizeMin: Int, listSizeMedian: Int, listSizeMax: Int, emptyLists: Int
        var imbalance: Double
        var bytesOnDisk: Int
        var bytesPerVector: Double
    }

    func run() throws {
        let opened = try IVFIndex(path: index)
        let sizes = try opened.listSizes().sorted()
        let n = sizes.reduce(0, +)
        let imbalance = n == 0 ? 0 : Double(sizes.count) * sizes.reduce(0.0) { $0 + Double($1) * Double($1) } / (Double(n) * Double(n))
        let attributes = try FileManager.default.attributesOfItem(atPath: (opened.path as NSString).appendingPathComponent("data.mdb"))
        let bytes = (attributes[.size] as? Int) ?? 0
        let report = Report(path: opened.path, metadata: opened.metadata, versions: IndexDirectory(root: index).versions(),
                            listSizeMin: sizes.first ?? 0, listSizeMedian: sizes.isEmpty ? 0 : sizes[sizes.count / 2],
                            listSizeMax: sizes.last ?? 0, emptyLists: sizes.filter { $0 == 0 }.count,
                            imbalance: imbalance, bytesOnDisk: bytes, bytesPerVector: n == 0 ? 0 : Double(bytes) / Double(n))
        if json {
            print(try jsonText(report))
        } else {
            let m = opened.metadata
            print(Format.table([
                ["version", opened.path],
                ["vectors", "\(Format.count(m.count)) × \(m.dimension) (\(m.metric.rawValue), \(m.encoding.rawValue))"],
                ["lists", "\(m.nlist): min \(report.listSizeMin), median \(report.listSizeMedian), max \(report.listSizeMax), empty \(report.emptyLists)"],
                ["imbalance", String(format: "%.3f", imbalance)],
                ["bytes", "\(Format.count(bytes)) on disk, \(String(format: "%.1f", report.bytesPerVector)) per vector"],
                ["built", "\(m.builtAt) in \(String(format: "%.2f", m.buildSeconds)) s from \(m.source)"],
                ["versions kept", "\(report.versions.count)"],
            ]))
        }
    }
}
