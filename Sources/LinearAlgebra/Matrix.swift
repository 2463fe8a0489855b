/// A dense row-major matrix of `Float`, the currency of every model and index computation.
///
/// Element (r, c) lives at `values[r * cols + c]`. Products go through BLAS (`BLAS.gemm`,
/// `BLAS.gemv`); this type only owns the storage and its shape.
public struct Matrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    /// Row-major storage, `rows * cols` long.
    public var values: [Float]

    /// A matrix filled with `value`.
    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && cols >= 0, "negative matrix shape \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        self.values = [Float](repeating: value, count: rows * cols)
    }

    /// A matrix over existing row-major storage.
    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols, "storage of \(values.count) floats does not fit \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// A matrix from nested rows, mainly for tests and small constants.
    public init(_ rowsOfValues: [[Float]]) {
        let cols = rowsOfValues.first?.count ?? 0
        precondition(rowsOfValues.allSatisfy { $0.count == cols }, "ragged rows")
        self.init(rows: rowsOfValues.count, cols: cols, values: rowsOfValues.flatMap { $0 })
    }

    public subscript(row: Int, col: Int) -> Float {
        get { values[row * cols + col] }
        set { values[row * cols + col] = newValue }
    }

    /// A copy of row `r`.
    public func row(_ r: Int) -> ArraySlice<Float> { values[(r * cols)..<((r + 1) * cols)] }

    /// The transpose, materialised.
    public var transposed: Matrix {
        var out = Matrix(rows: cols, cols: rows)
        for r in 0..<rows { for c in 0..<cols { out.values[c * rows + r] = values[r * cols + c] } }
        return out
    }

    /// The shape as "rows×cols", for error messages.
    public var shapeDescription: String { "\(rows)×\(cols)" }
}
