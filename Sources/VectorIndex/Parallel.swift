import Dispatch

/// Carries a value into a `concurrentPerform` body. Used only for pointers into buffers whose
/// parts are written by disjoint iterations, where the compiler cannot see the disjointness.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body(part)` for `parts` parts on up to that many threads and waits for all.
func parallelParts(_ parts: Int, _ body: @Sendable (Int) -> Void) {
    if parts <= 1 { body(0); return }
    DispatchQueue.concurrentPerform(iterations: parts, execute: body)
}
