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
