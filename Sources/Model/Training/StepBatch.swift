import LinearAlgebra

/// One training step's batch, assembled into buffers that are allocated once and reused: the
/// rows' users and items, the extra negatives, the candidate columns (batch items, then extras),
/// the batch's distinct users with their history windows, and for every row the columns to mask.
///
/// Each distinct user's history window (their last `historyLength` training items) is pooled once
/// per step, however many of the batch's rows are theirs; a row removes its own target from its
/// user's pool by subtraction, (Σ − c·e_t) / (n − c), where c counts the target in the window.
final class StepBatch: @unchecked Sendable {
    let capacity: Int
    let extras: Int
    /// Rows in this step (at most `capacity`).
    private(set) var rows = 0
    var columns: Int { rows + extras }

    let users: Buffer<Int32>
    /// Rows' positives, then the extra negatives: the candidate columns.
    let candidates: Buffer<Int32>
    /// Per row: its distinct user's slot, and how often its target occurs in that user's window.
    let slotOfRow: Buffer<Int32>
    let targetCount: Buffer<Int32>

    /// The distinct users: their ids, their window (offset into `histories[user]` and length), and
    /// their rows (`rowsOfSlot[rowStart[j] ..< rowStart[j + 1]]`).
    private(set) var distinct = 0
    let slotUsers: Buffer<Int32>
    let windowStart: Buffer<Int32>
    let windowLength: Buffer<Int32>
    let rowStart: Buffer<Int32>
    let rowsOfSlot: Buffer<Int32>

    /// Columns each distinct user's rows mask: `maskColumns[maskStart[j] ..< maskStart[j + 1]]`
    /// (the candidates among all the user's training items, every copy).
    let maskStart: Buffer<Int32>
    private(set) var maskColumns: Buffer<Int32>

    /// Per item: the step it was last stamped in, its first candidate column, and per column the
    /// next column holding the same item (−1 at the end): copies of an item found without hashing.
    private let stamp: Buffer<UInt32>
    let firstColumn: Buffer<Int32>
    let nextColumn: Buffer<Int32>
    private let userStamp: Buffer<UInt32>
    private let userSlot: Buffer<Int32>
    private var epoch: UInt32 = 0

    /// The threads that walk the distinct users' histories (windows and masked columns), and
    /// each one's mask columns before they are joined into `maskColumns` in slot order.
    let parts: Int
    private let partMasks: [PartMasks]

    init(capacity: Int, extras: Int, users userCount: Int, items itemCount: Int, parts: Int = 1) {
        self.capacity = capacity
        self.extras = extras
        self.parts = max(parts, 1)
        partMasks = (0..<max(parts, 1)).map { _ in PartMasks(capacity: 4 * (capacity + extras) / max(parts, 1) + 64) }
        users = Buffer(count: capacity, repeating: 0)
        candidates = Buffer(count: capacity + extras, repeating: 0)
        slotOfRow = Buffer(count: capacity, repeating: 0)
        targetCount = Buffer(count: capacity, repeating: 0)
        slotUsers = Buffer(count: capacity, repeating: 0)
        windowStart = Buffer(count: capacity, repeating: 0)
        windowLength = Buffer(count: capacity, repeating: 0)
        rowStart = Buffer(count: capacity + 1, repeating: 0)
        rowsOfSlot = Buffer(count: capacity, repeating: 0)
        maskStart = Buffer(count: capacity + 1, repeating: 0)
        maskColumns = Buffer(count: 4 * (capacity + extras), repeating: 0)
        stamp = Buffer(count: itemCount, repeating: 0)
        firstColumn = Buffer(count: itemCount, repeating: -1)
        nextColumn = Buffer(count: capacity + extras, repeating: -1)
        userStamp = Buffer(count: userCount, repeating: 0)
        userSlot = Buffer(count: userCount, repeating: 0)
    }

    /// Fills the batch from `pairs[order]` and the extra negatives `extraIDs`.
    func assemble(pairs: UnsafeBufferPointer<(Int32, Int32)>, order: ArraySlice<Int>, extraIDs: UnsafeBufferPointer<Int32>,
                  histories: [[Int32]], historyLength: Int) {
        epoch &+= 1
        if epoch == 0 {  // wrapped: forget every stamp
            for i in 0..<stamp.count { stamp[i] = 0 }
            for i in 0..<userStamp.count { userStamp[i] = 0 }
            epoch = 1
        }
        rows = order.count
        // Rows, and their users' slots in first-seen order.
        distinct = 0
        var r = 0
        for index in order {
            let (u, i) = pairs[index]
            users[r] = u
            candidates[r] = i
            if userStamp[Int(u)] != epoch {
                userStamp[Int(u)] = epoch
                userSlot[Int(u)] = Int32(distinct)
                slotUsers[distinct] = u
                distinct += 1
            }
            slotOfRow[r] = userSlot[Int(u)]
            r += 1
        }
        for e in 0..<extras { candidates[rows + e] = extraIDs[e] }
        // The rows of each slot, contiguous (a counting sort by slot).
        for j in 0...distinct { rowStart[j] = 0 }
        for r in 0..<rows { rowStart[Int(slotOfRow[r]) + 1] += 1 }
        for j in 0..<distinct { rowStart[j + 1] += rowStart[j] }
        for r in 0..<rows {
            let j = Int(slotOfRow[r])
            rowsOfSlot[Int(rowStart[j])] = Int32(r)
            rowStart[j] += 1
        }
        for j in stride(from: distinct, to: 0, by: -1) { rowStart[j] = rowStart[j - 1] }
        rowStart[0] = 0
        // Candidate columns by item: chains in column order.
        let columns = self.columns
        for c in stride(from: columns - 1, through: 0, by: -1) {
            let item = Int(candidates[c])
            nextColumn[c] = stamp[item] == epoch ? firstColumn[item] : -1
            firstColumn[item] = Int32(c)
            stamp[item] = epoch
        }
        // Windows, the columns each user masks and the rows' target counts: a walk over every
        // distinct user's whole history, the largest serial cost of assembly before, now split by
        // slots across `parts` threads (each into its own mask buffer, joined below in slot
        // order, so the result does not depend on the thread count).
        let distinct = self.distinct, epoch = self.epoch
        let P = distinct >= 64 ? parts : 1
        _ = Parallel.map(parts: P) { t in
            self.walkHistories(slots: Parallel.range(t, of: P, count: distinct), into: self.partMasks[t], histories: histories,
                               historyLength: historyLength, epoch: epoch)
        }
        let total = partMasks[0..<P].reduce(0) { $0 + $1.count }
        if total > maskColumns.count { maskColumns = Buffer(count: max(total, 2 * maskColumns.count), repeating: 0) }
        var base = 0
        for t in 0..<P {
            let part = partMasks[t]
            (maskColumns.pointer + base).update(from: part.columns.pointer, count: part.count)
            for j in Parallel.range(t, of: P, count: distinct) { maskStart[j] += Int32(base) }
            base += part.count
        }
        maskStart[distinct] = Int32(base)
    }

    /// Slots `slots`' windows and mask columns (into `part`; `maskStart` relative to it), and their
    /// rows' target counts. Reads only what the serial part of `assemble` wrote; writes only these
    /// slots' and their rows' entries.
    private func walkHistories(slots: Range<Int>, into part: PartMasks, histories: [[Int32]], historyLength: Int, epoch: UInt32) {
        var out = part.columns
        var masks = 0
        for j in slots {
            histories[Int(slotUsers[j])].withUnsafeBufferPointer { history in
                let length = min(historyLength, history.count)
                windowStart[j] = Int32(history.count - length)
                windowLength[j] = Int32(length)
                maskStart[j] = Int32(masks)
                let window = UnsafeBufferPointer(rebasing: history[(history.count - length)...])
                for i in Int(rowStart[j])..<Int(rowStart[j + 1]) {
                    let r = Int(rowsOfSlot[i]), target = candidates[r]
                    var count: Int32 = 0
                    for item in window where item == target { count += 1 }
                    targetCount[r] = count
                }
                for item in history where stamp[Int(item)] == epoch {
                    var c = firstColumn[Int(item)]
                    while c >= 0 {
                        if masks == out.count {
                            let bigger = Buffer<Int32>(count: out.count * 2, repeating: 0)
                            bigger.pointer.update(from: out.pointer, count: masks)
                            out = bigger
                        }
                        out[masks] = c
                        masks += 1
                        c = nextColumn[Int(c)]
                    }
                }
            }
        }
        part.columns = out
        part.count = masks
    }

    /// One thread's mask columns in a step, reused from step to step.
    private final class PartMasks: @unchecked Sendable {
        var columns: Buffer<Int32>
        var count = 0
        init(capacity: Int) { columns = Buffer(count: capacity, repeating: 0) }
    }

    /// Sets row r's masked columns to −∞ in `scores` (its user's known items among the
    /// candidates, and every other copy of its own item), never its own column.
    @inline(__always)
    func mask(row r: Int, scores: UnsafeMutablePointer<Float>) {
        let j = Int(slotOfRow[r])
        for m in Int(maskStart[j])..<Int(maskStart[j + 1]) where Int(maskColumns[m]) != r { scores[Int(maskColumns[m])] = -.infinity }
        var c = firstColumn[Int(candidates[r])]
        while c >= 0 {
            if Int(c) != r { scores[Int(c)] = -.infinity }
            c = nextColumn[Int(c)]
        }
    }
}
