/// Memory owned by one value and lent by pointer: the training step's reused workspaces
/// (scores, embeddings, gradients) and the tables it updates in place, which many worker threads
/// read and write at once in disjoint ranges, something an array's copy-on-write value cannot offer.
/// The owner decides which thread touches which range; the buffer itself does no locking.
public final class Buffer<Element>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Element>
    public let count: Int

    /// `count` elements, each `value`.
    public init(count: Int, repeating value: Element) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: value, count: count)
    }

    /// A copy of `values`.
    public init(_ values: [Element]) {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        _ = UnsafeMutableBufferPointer(start: pointer, count: count).initialize(from: values)
    }

    deinit {
        pointer.deinitialize(count: count)
        pointer.deallocate()
    }

    public subscript(i: Int) -> Element {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// The elements as an array (a copy).
    public var array: [Element] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
