import Foundation

/// Everything the report shows, gathered by the caller (the `report` command) from the store,
/// the model and the index. Plain values: the report knows nothing of where they came from.
public struct ReportData: Sendable {
    public struct Epoch: Sendable {
        public var epoch: Int
        public var loss: Double
        public var validationRecall: Double?
        public init(epoch: Int, loss: Double, validationRecall: Double?) {
            self.epoch = epoch
            self.loss = loss
            self.validationRecall = validationRecall
        }
    }

    public struct ANNPoint: Sendable {
        public var nprobe: Int
        public var recall: Double
        public var qps: Double
        public init(nprobe: Int, recall: Double, qps: Double) {
            self.nprobe = nprobe
            self.recall = recall
            self.qps = qps
        }
    }

    public var title: String
    /// (label, value) rows of the summary table.
    public var summary: [(String, String)] = []
    public var epochs: [Epoch] = []
    public var ann: [ANNPoint] = []
    public var exactQPS: Double?
    /// Recall@K for K = 1… by method ("exact", "index (nprobe 8)", "popularity").
    public var recallAtK: [(name: String, values: [Double])] = []
    public var interactionsPerUser: [Int] = []
    public var interactionsPerItem: [Int] = []
    /// The training configuration, as JSON text.
    public var configuration: String = ""

    public init(title: String) { self.title = title }
}

/// One self-contained HTML file: inline SVG charts and tables, no scripts, nothing fetched.
public enum HTMLReport {
    public static func render(_ data: ReportData) -> String {
        var charts: [(String, String)] = []
        if !data.epochs.isEmpty {
            charts.append(("Training", LineChart(title: "Training loss by epoch", xLabel: "epoch", yLabel: "mean batch loss",
                                                 series: [Series(name: "loss", points: data.epochs.map { (Double($0.epoch), $0.loss) })]).svg()))
            let validation = data.epochs.compactMap { e in e.validationRecall.map { (Double(e.epoch), $0) } }
            if !validation.isEmpty {
                charts.append(("", LineChart(title: "Validation Recall@20 by epoch", xLabel: "epoch", yLabel: "Recall@20",
                                             series: [Series(name: "validation Recall@20", points: validation)]).svg()))
            }
        }
        if !data.ann.isEmpty {
            var series = [Series(name: "IVF, nprobe \(data.ann.first!.nprobe)…\(data.ann.last!.nprobe)",
                                 points: data.ann.map { ($0.qps, $0.recall) })]
            if let exact = data.exactQPS { series.append(Series(name: "exact search", points: [(exact, 1)])) }
            charts.append(("Recall and speed of the index",
                           LineChart(title: "ANN recall@10 against queries/s (1 thread)", xLabel: "queries per second (log scale)",
                                     yLabel: "recall@10 vs exact", series: series, logX: true, yRange: 0...1).svg()))
            charts.append(("", LineChart(title: "ANN recall@10 by nprobe", xLabel: "nprobe (log scale)", yLabel: "recall@10",
                                         series: [Series(name: "IVF", points: data.ann.map { (Double($0.nprobe), $0.recall) }),
                                                  Series(name: "exact search", points: [(Double(data.ann.first!.nprobe), 1)], isReferenceLine: true)],
                                         logX: true, yRange: 0...1).svg()))
        }
        if !data.recallAtK.isEmpty {
            charts.append(("Quality", LineChart(title: "Recall@K on the test split", xLabel: "K", yLabel: "Recall@K",
                                                series: data.recallAtK.map { m in
                                                    Series(name: m.name, points: m.values.enumerated().map { (Double($0.offset + 1), $0.element) },
                                                           dashed: m.name.hasPrefix("popularity"))
                                                }).svg()))
        }
        if !data.interactionsPerUser.isEmpty {
            charts.append(("Data", Histogram(title: "Interactions per user", xLabel: "interactions (log₂ bins, lower edge)",
                                             values: data.interactionsPerUser).svg()))
            charts.append(("", Histogram(title: "Interactions per item", xLabel: "interactions (log₂ bins, lower edge)",
                                         values: data.interactionsPerItem).svg()))
        }
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(data.title))</title>
            <style>body{font-family:sans-serif;max-width:1340px;margin:24px auto;color:#222}
            table{border-collapse:collapse;margin:8px 0 24px}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}
            .charts{display:flex;flex-wrap:wrap;gap:16px}pre{background:#f5f5f5;padding:12px;overflow:auto}</style></head>
            <body><h1>\(escape(data.title))</h1>
            """
        if !data.summary.isEmpty {
            html += "<table>" + data.summary.map { "<tr><th>\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined() + "</table>"
        }
        var open = false
        for (heading, svg) in charts {
            if !heading.isEmpty {
                if open { html += "</div>" }
                html += "<h2>\(escape(heading))</h2><div class=\"charts\">"
                open = true
            }
            html += svg
        }
        if open { html += "</div>" }
        if !data.configuration.isEmpty { html += "<h2>Configuration</h2><pre>\(escape(data.configuration))</pre>" }
        return html + "</body></html>\n"
    }
}
