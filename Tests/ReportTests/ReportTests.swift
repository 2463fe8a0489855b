import Foundation
@testable import Report
import Testing

struct ReportTests {
    @Test func ticksAreRoundAndCoverTheRange() {
        let unit = LineChart.ticks(0, 1)
        #expect(unit.count == 6 && zip(unit, [0, 0.2, 0.4, 0.6, 0.8, 1]).allSatisfy { abs($0 - $1) < 1e-9 })
        let t = LineChart.ticks(3, 97)
        #expect(t.first! >= 3 && t.last! <= 97 && t.count >= 4 && t.count <= 7)
        #expect(LineChart.logTicks(1, 1000) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000])
    }

    @Test func histogramBinsAreLogTwo() {
        let h = Histogram(title: "t", xLabel: "x", values: [1, 1, 2, 3, 4, 7, 8, 100])
        #expect(h.bins.map(\.lower) == [1, 2, 4, 8, 16, 32, 64])
        #expect(h.bins.map(\.count) == [2, 2, 2, 1, 0, 0, 1])
    }

    @Test func chartsCarryTitleAxesLabelsAndLegend() {
        let svg = LineChart(title: "Recall <by> K", xLabel: "K", yLabel: "Recall@K",
                            series: [Series(name: "exact", points: [(1, 0.1), (2, 0.2)]), Series(name: "popularity", points: [(1, 0.05), (2, 0.07)])]).svg()
        for text in ["Recall &lt;by&gt; K", ">K</text>", ">Recall@K</text>", ">exact</text>", ">popularity</text>", "<polyline"] {
            #expect(svg.contains(text), "missing \(text)")
        }
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
    }

    @Test func theReportIsSelfContained() {
        var data = ReportData(title: "TwoTower report")
        data.summary = [("data", "3 users")]
        data.epochs = [.init(epoch: 1, loss: 2, validationRecall: 0.1), .init(epoch: 2, loss: 1.5, validationRecall: 0.2)]
        data.ann = [.init(nprobe: 1, recall: 0.8, qps: 9000), .init(nprobe: 4, recall: 0.97, qps: 3000)]
        data.exactQPS = 100
        data.recallAtK = [("exact", [0.1, 0.2, 0.3]), ("popularity", [0.01, 0.02, 0.03])]
        data.interactionsPerUser = [1, 2, 3]
        data.interactionsPerItem = [5, 9]
        data.configuration = #"{"epochs": 2}"#
        let html = HTMLReport.render(data)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 7)
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
        // The only URL is the SVG namespace, which is never fetched.
        let urls = html.components(separatedBy: "http").count - 1
        #expect(urls == html.components(separatedBy: "http://www.w3.org/2000/svg").count - 1)
        #expect(html.contains("&quot;epochs&quot;: 2"))
    }
}
