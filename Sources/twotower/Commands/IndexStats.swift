import ArgumentParser
import Foundation
import Pipeline

struct IndexStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index-stats",
        abstract: "Describe an index: size, list sizes and imbalance, bytes on disk, its calibration.",
        discussion: """
            Imbalance is FAISS's factor nlist · Σ size² / n²: 1 for equal lists, larger when a few \
            lists hold most vectors (searches then scan more than nprobe/nlist of the data).
            """
    )

    @OptionGroup var target: IndexOption
    @OptionGroup var output: JSONFlag

    func run() throws {
        let report = try IndexStatistics(index: target.index)
        if output.json {
            print(try jsonText(report))
            return
        }
        let m = report.metadata
        var rows = [
            ["version", report.path],
            ["vectors", "\(Format.count(m.count)) × \(m.dimension) (\(m.metric.rawValue), \(m.encoding.rawValue))"],
            ["lists", "\(m.nlist): min \(report.listSizeMin), median \(report.listSizeMedian), max \(report.listSizeMax), empty \(report.emptyLists)"],
            ["imbalance", String(format: "%.3f", report.imbalance)],
            ["bytes", "\(Format.count(report.bytesOnDisk)) on disk, \(String(format: "%.1f", report.bytesPerVector)) per vector"],
            ["built", "\(m.builtAt) in \(String(format: "%.2f", m.buildSeconds)) s from \(m.source)"],
            ["versions kept", "\(report.versions.count)"],
        ]
        if let note = m.layoutNote { rows.append(["layout", note]) }
        if let c = m.calibration {
            rows.append(["default search", String(CalibrationText.summary(c, nlist: m.nlist).dropFirst("default search: ".count))])
        } else {
            rows.append(["default search", "nprobe \(m.defaultNprobe) (not calibrated)"])
        }
        print(Format.table(rows))
        if let c = m.calibration, !c.curve.isEmpty {
            print("\ncalibration curve (single thread, one query at a time, k = 10)")
            print(Format.table([["nprobe", "re-rank", "recall@10", "queries/s"]]
                + c.curve.map { ["\($0.nprobe)", "\($0.rerankFactor)", String(format: "%.4f", $0.recallAt10), Format.count(Int($0.qps))] }
                + (c.exactQPS.map { [["exact", "—", "1.0000", Format.count(Int($0))]] } ?? [])))
        }
    }
}
