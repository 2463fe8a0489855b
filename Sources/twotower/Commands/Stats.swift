import ArgumentParser
import Store

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a store's users, items, interactions, splits and count distributions.",
        discussion: """
            --json prints {"users":…, "items":…, "interactions":…, "splits":{"<name>":{"<part>":count}}, \
            "interactions_per_user":{min,p25,p50,p75,p90,p99,max,mean}, "interactions_per_item":{…}, "features":{…}}.
            """
    )

    @Option(help: "The SQLite store to read.")
    var store: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let stats = try StoreStatistics(store: InteractionStore(path: store, create: false))
        print(json ? try jsonText(stats) : StatsTable(stats: stats).text)
    }
}

/// The readable form of `StoreStatistics`.
struct StatsTable {
    let stats: StoreStatistics

    var text: String {
        var out = Format.table([
            ["users", Format.count(stats.users)],
            ["items", Format.count(stats.items)],
            ["interactions", Format.count(stats.interactions)],
        ])
        func distribution(_ name: String, _ d: CountDistribution) -> [String] {
            [name, "\(d.min)", "\(d.p25)", "\(d.p50)", "\(d.p75)", "\(d.p90)", "\(d.p99)", "\(d.max)", String(format: "%.1f", d.mean)]
        }
        out += "\n\n" + Format.table([
            ["interactions per", "min", "p25", "p50", "p75", "p90", "p99", "max", "mean"],
            distribution("user", stats.interactionsPerUser),
            distribution("item", stats.interactionsPerItem),
        ])
        if !stats.splits.isEmpty {
            var rows = [["split", "train", "validation", "test"]]
            for (name, parts) in stats.splits.sorted(by: { $0.key < $1.key }) {
                rows.append([name] + ["train", "validation", "test"].map { Format.count(parts[$0] ?? 0) })
            }
            out += "\n\n" + Format.table(rows)
        }
        for (entity, features) in stats.features.sorted(by: { $0.key < $1.key }) {
            out += "\n\n\(entity) features: " + features.sorted(by: { $0.key < $1.key }).map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
        }
        return out
    }
}
