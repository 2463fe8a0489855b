import Foundation
import Pipeline
import Store
import TestScratch

/// A small synthetic store for the jobs' tests: `users` users over `items` items in four taste
/// groups, eight interactions each, split leave-last-out.
enum PipelineFixture {
    static func store(users: Int = 60, items: Int = 40, at path: String = Scratch.path("pipeline", suffix: ".sqlite")) throws -> String {
        let store = try InteractionStore(path: path)
        try store.connection.transaction {
            let w = try StoreWriter(store: store)
            for u in 0..<users {
                let user = try w.id(of: .user, raw: "u\(u)")
                let group = u % 4
                for t in 0..<8 {
                    let item = try w.id(of: .item, raw: "i\(group * (items / 4) + (u * 7 + t * 3) % (items / 4))")
                    _ = try w.addInteraction(user: user, item: item, timestamp: Int64(t), weight: nil)
                }
            }
        }
        try StoreJobs.split(store, name: "leave-last-out", method: .leaveLastOut)
        return path
    }
}
