import Store
import Synchronization

/// The events the daemon has accepted (they are in the event log) but not yet merged into the
/// store, by user: what makes a posted event visible to the very next request before the merge.
/// Readers take a user's events from here *before* reading the store, and the merge drops them
/// from here only *after* its commit, so an event is always in at least one of the two; one in
/// both is recognised by its (item, time) and counted once (`OnlineInputs.history`).
final class PendingEvents: Sendable {
    /// One pending event of a user.
    struct Event: Sendable, Equatable {
        var item: Int
        var timestamp: Int64
        var logID: Int64
    }

    private struct State {
        /// Every pending event in log order: what the next merge takes.
        var log: [LoggedEvent] = []
        var start = 0
        var byUser: [String: [Event]] = [:]
    }

    private let state = Mutex(State())

    /// Events waiting for a merge.
    var count: Int { state.withLock { $0.log.count - $0.start } }

    /// A user's pending events, oldest first.
    func events(of user: String) -> [Event] { state.withLock { $0.byUser[user] ?? [] } }

    /// Adds events just committed to the log (in log order).
    func add(_ events: [LoggedEvent]) {
        state.withLock { s in
            for e in events {
                s.log.append(e)
                s.byUser[e.user, default: []].append(Event(item: e.item, timestamp: e.timestamp, logID: e.id))
            }
        }
    }

    /// The pending events up to log id `id`, in log order.
    func oldest(through id: Int64) -> [LoggedEvent] {
        state.withLock { s in
            var end = s.start
            while end < s.log.count && s.log[end].id <= id { end += 1 }
            return Array(s.log[s.start..<end])
        }
    }

    /// Drops the events up to log id `id`, once the store holds them. Done a slice at a time,
    /// so the writer and readers never wait long on the lock; a reader that sees some of them
    /// dropped and some not finds the rest in the store, and counts each once.
    func drop(through id: Int64) {
        var more = true
        while more {
            more = state.withLock { s in
                var n = 0
                while s.start < s.log.count && s.log[s.start].id <= id && n < 1_024 {
                    let user = s.log[s.start].user
                    if var list = s.byUser.removeValue(forKey: user) {
                        // A user's events are in log order: the dropped ones are a prefix.
                        let k = list.prefix { $0.logID <= id }.count
                        list.removeFirst(k)
                        if !list.isEmpty { s.byUser[user] = list }
                    }
                    s.start += 1
                    n += 1
                }
                // Compact once the dropped prefix is most of the array.
                if s.start > 1_024 && s.start * 2 > s.log.count {
                    s.log.removeFirst(s.start)
                    s.start = 0
                }
                return s.start < s.log.count && s.log[s.start].id <= id
            }
        }
    }
}
