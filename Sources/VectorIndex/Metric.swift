import LinearAlgebra

/// How vectors are compared. Every search returns higher-is-better scores: the inner product,
/// the cosine, or the negated squared L2 distance.
public enum Metric: String, Codable, Sendable, CaseIterable {
    case innerProduct = "inner_product"
    /// Vectors and queries are L2-normalised, then compared by inner product.
    case cosine
    case l2

    /// Accepts the config names and the short forms `ip` and `cos`.
    public init?(name: String) {
        switch name {
        case "inner_product", "ip": self = .innerProduct
        case "cosine", "cos": self = .cosine
        case "l2": self = .l2
        default: return nil
        }
    }

    /// Whether k-means works on the unit sphere (inner product and cosine).
    var spherical: Bool { self != .l2 }
}

extension Metric {
    /// Puts vectors in the form the metric compares: rows scaled to unit length for cosine,
    /// unchanged otherwise. Queries and base vectors both go through it.
    public func prepare(_ m: inout Matrix) {
        if self == .cosine { KMeans.normalizeRows(&m) }
    }

    /// The per-row term that turns inner products into scores that rank like the metric: for
    /// L2, ‖c‖²/2 (q·c − ‖c‖²/2 ranks like −‖q − c‖², whose value is 2(q·c − ‖c‖²/2) − ‖q‖²);
    /// nil for inner product and cosine, whose scores are the inner products themselves.
    public func rankingBias(_ rows: Matrix) -> [Float]? {
        guard self == .l2 else { return nil }
        let d = rows.cols
        return rows.values.withUnsafeBufferPointer { v in
            (0..<rows.rows).map { r in
                var s: Float = 0
                for j in 0..<d { s += v[r * d + j] * v[r * d + j] }
                return s / 2
            }
        }
    }
}
