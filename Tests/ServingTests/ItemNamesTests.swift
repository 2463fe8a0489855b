import Foundation
@testable import Serving
import Store
import TestScratch
import Testing

@Suite struct ItemNamesTests {
    @Test func namesComeFromTheStoreAndStayWithinCapacity() throws {
        let path = Scratch.path("item-names", suffix: ".sqlite")
        let store = try InteractionStore(path: path)
        let (a, b) = try store.connection.transaction {
            let w = try StoreWriter(store: store)
            return (try w.id(of: .item, raw: "alpha"), try w.id(of: .item, raw: "beta"))
        }
        let names = ItemNames(capacity: 1)
        #expect(try names.name(of: a, store: store) == "alpha")
        #expect(names.count == 1)
        #expect(try names.name(of: b, store: store) == "beta")  // read, but over capacity: not kept
        #expect(names.count == 1)
        #expect(try names.name(of: a, store: store) == "alpha")
        #expect(try names.name(of: 999, store: store) == nil)
        #expect(names.count == 1)
        // A miss is not remembered: an item added later is found under its new dense id.
        let fresh = ItemNames()
        #expect(try fresh.name(of: b + 1, store: store) == nil)
        let c = try store.connection.transaction { try StoreWriter(store: store).id(of: .item, raw: "gamma") }
        #expect(c == b + 1)
        #expect(try fresh.name(of: c, store: store) == "gamma")
    }
}
