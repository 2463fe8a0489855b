import Foundation

/// A line or point series of a chart.
public struct Series: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    /// A horizontal reference line at `points[0].y` across the whole x range (e.g. exact search).
    public var isReferenceLine = false
    public var dashed = false

    public init(name: String, points: [(x: Double, y: Double)], isReferenceLine: Bool = false, dashed: Bool = false) {
        self.name = name
        self.points = points
        self.isReferenceLine = isReferenceLine
        self.dashed = dashed
    }
}

/// Self-contained SVG charts (no scripts, no fonts to fetch): axes with ticks and labels, a
/// title, a legend, linear or log-10 x axis. What the report draws, and nothing more.
public struct LineChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var logX = false
    /// Fixed y range; nil fits the data (from 0 when all values are positive).
    public var yRange: ClosedRange<Double>?
    public var width = 640.0
    public var height = 360.0

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    public init(title: String, xLabel: String, yLabel: String, series: [Series], logX: Bool = false, yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logX = logX
        self.yRange = yRange
    }

    public func svg() -> String {
        let left = 70.0, right = 20.0, top = 40.0, bottom = 75.0
        let plotW = width - left - right, plotH = height - top - bottom
        let all = series.flatMap(\.points)
        let xs = all.map(\.x).filter { !logX || $0 > 0 }, ys = all.map(\.y)
        let xMin = xs.min() ?? 0, xMax = max(xs.max() ?? 1, (xs.min() ?? 0) + 1e-9)
        let yLo = yRange?.lowerBound ?? min(0, ys.min() ?? 0)
        var yHi = yRange?.upperBound ?? (ys.max() ?? 1)
        if yHi <= yLo { yHi = yLo + 1 }
        let tx: (Double) -> Double = logX ? log10 : { $0 }
        func px(_ x: Double) -> Double { left + (tx(x) - tx(xMin)) / max(tx(xMax) - tx(xMin), 1e-12) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - yLo) / (yHi - yLo) * plotH }
        var out = ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" viewBox="0 0 \##(Int(width)) \##(Int(height))" font-family="sans-serif" font-size="12">"##
        out += ##"<rect width="100%" height="100%" fill="white"/>"##
        out += ##"<text x="\##(width / 2)" y="22" text-anchor="middle" font-size="15" font-weight="bold">\##(escape(title))</text>"##
        // Axes, ticks and grid.
        out += ##"<line x1="\##(left)" y1="\##(top + plotH)" x2="\##(left + plotW)" y2="\##(top + plotH)" stroke="black"/>"##
        out += ##"<line x1="\##(left)" y1="\##(top)" x2="\##(left)" y2="\##(top + plotH)" stroke="black"/>"##
        for t in Self.ticks(yLo, yHi) {
            let y = py(t)
            out += ##"<line x1="\##(left - 4)" y1="\##(y)" x2="\##(left + plotW)" y2="\##(y)" stroke="#ddd"/>"##
            out += ##"<text x="\##(left - 7)" y="\##(y + 4)" text-anchor="end">\##(Self.label(t))</text>"##
        }
        let xTicks = logX ? Self.logTicks(xMin, xMax) : Self.ticks(xMin, xMax)
        for t in xTicks {
            let x = px(t)
            out += ##"<line x1="\##(x)" y1="\##(top + plotH)" x2="\##(x)" y2="\##(top + plotH + 4)" stroke="black"/>"##
            out += ##"<text x="\##(x)" y="\##(top + plotH + 18)" text-anchor="middle">\##(Self.label(t))</text>"##
        }
        out += ##"<text x="\##(left + plotW / 2)" y="\##(top + plotH + 36)" text-anchor="middle">\##(escape(xLabel))</text>"##
        out += ##"<text transform="translate(16 \##(top + plotH / 2)) rotate(-90)" text-anchor="middle">\##(escape(yLabel))</text>"##
        // Series.
        for (n, s) in series.enumerated() {
            let colour = Self.palette[n % Self.palette.count]
            let dash = s.dashed || s.isReferenceLine ? ##" stroke-dasharray="6 4""## : ""
            if s.isReferenceLine, let y = s.points.first?.y {
                out += ##"<line x1="\##(left)" y1="\##(py(y))" x2="\##(left + plotW)" y2="\##(py(y))" stroke="\##(colour)" stroke-width="2"\##(dash)/>"##
                continue
            }
            let points = s.points.filter { !logX || $0.x > 0 }
            let path = points.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            out += ##"<polyline points="\##(path)" fill="none" stroke="\##(colour)" stroke-width="2"\##(dash)/>"##
            if points.count <= 40 {
                for p in points { out += ##"<circle cx="\##(px(p.x))" cy="\##(py(p.y))" r="3" fill="\##(colour)"/>"## }
            }
        }
        // Legend: one row under the axis label, so it never covers the data.
        var legendX = left
        for (n, s) in series.enumerated() {
            let y = height - 12
            out += ##"<line x1="\##(legendX)" y1="\##(y - 4)" x2="\##(legendX + 22)" y2="\##(y - 4)" stroke="\##(Self.palette[n % Self.palette.count])" stroke-width="3"\##(s.dashed || s.isReferenceLine ? " stroke-dasharray=\"6 4\"" : "")/>"##
            out += ##"<text x="\##(legendX + 28)" y="\##(y)">\##(escape(s.name))</text>"##
            legendX += 40 + 7 * Double(s.name.count)
        }
        return out + "</svg>"
    }

    /// About five round ticks between lo and hi.
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let span = hi - lo
        guard span > 0, span.isFinite else { return [lo] }
        let raw = span / 5, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? magnitude * 10
        var t = ceil(lo / step) * step, out: [Double] = []
        while t <= hi + step * 1e-9 {
            out.append(t)
            t += step
        }
        return out
    }

    static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        var out: [Double] = []
        var decade = pow(10, floor(log10(max(lo, 1e-12))))
        while decade <= hi * 1.0001 {
            for m in [1.0, 2, 5] where decade * m >= lo * 0.9999 && decade * m <= hi * 1.0001 { out.append(decade * m) }
            decade *= 10
        }
        return out
    }

    static func label(_ v: Double) -> String {
        if v != 0 && (abs(v) >= 10_000 || abs(v) < 0.001) { return String(format: "%.0e", v) }
        if v == v.rounded() { return String(format: "%.0f", v) }
        return String(format: abs(v) < 0.1 ? "%.3f" : "%.2f", v)
    }
}

/// A histogram over log-spaced bins (counts per user or per item are heavy-tailed).
public struct Histogram: Sendable {
    public var title: String
    public var xLabel: String
    public var values: [Int]

    public init(title: String, xLabel: String, values: [Int]) {
        self.title = title
        self.xLabel = xLabel
        self.values = values
    }

    /// Bins [1,2), [2,4), [4,8), …: (lower edge, count).
    public var bins: [(lower: Int, count: Int)] {
        guard let top = values.max(), top > 0 else { return [] }
        var edges = [1]
        while edges.last! <= top { edges.append(edges.last! * 2) }
        var counts = [Int](repeating: 0, count: edges.count - 1)
        for v in values where v >= 1 {
            counts[min(Int(log2(Double(v))), counts.count - 1)] += 1
        }
        return zip(edges, counts).map { ($0, $1) }
    }

    public func svg(width: Double = 640, height: Double = 320) -> String {
        let left = 70.0, right = 20.0, top = 40.0, bottom = 55.0
        let plotW = width - left - right, plotH = height - top - bottom
        let b = bins, maxCount = Double(b.map(\.count).max() ?? 1)
        let barW = plotW / Double(max(b.count, 1))
        var out = ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" viewBox="0 0 \##(Int(width)) \##(Int(height))" font-family="sans-serif" font-size="12">"##
        out += ##"<rect width="100%" height="100%" fill="white"/>"##
        out += ##"<text x="\##(width / 2)" y="22" text-anchor="middle" font-size="15" font-weight="bold">\##(escape(title))</text>"##
        out += ##"<line x1="\##(left)" y1="\##(top + plotH)" x2="\##(left + plotW)" y2="\##(top + plotH)" stroke="black"/>"##
        out += ##"<line x1="\##(left)" y1="\##(top)" x2="\##(left)" y2="\##(top + plotH)" stroke="black"/>"##
        for t in LineChart.ticks(0, maxCount) {
            let y = top + plotH - t / maxCount * plotH
            out += ##"<line x1="\##(left - 4)" y1="\##(y)" x2="\##(left + plotW)" y2="\##(y)" stroke="#ddd"/>"##
            out += ##"<text x="\##(left - 7)" y="\##(y + 4)" text-anchor="end">\##(LineChart.label(t))</text>"##
        }
        for (n, bin) in b.enumerated() {
            let h = Double(bin.count) / maxCount * plotH, x = left + Double(n) * barW
            out += ##"<rect x="\##(x + 1)" y="\##(top + plotH - h)" width="\##(max(barW - 2, 1))" height="\##(h)" fill="#1f77b4"/>"##
            out += ##"<text x="\##(x + barW / 2)" y="\##(top + plotH + 18)" text-anchor="middle">\##(bin.lower)</text>"##
        }
        out += ##"<text x="\##(left + plotW / 2)" y="\##(height - 12)" text-anchor="middle">\##(escape(xLabel))</text>"##
        out += ##"<text transform="translate(16 \##(top + plotH / 2)) rotate(-90)" text-anchor="middle">count</text>"##
        return out + "</svg>"
    }
}

/// Text safe inside SVG/HTML.
public func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
