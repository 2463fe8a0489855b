import ArgumentParser
import Pipeline

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a store's users, items, interactions, splits and count distributions.",
        discussion: """
            --json prints {"users":…, "items":…, "interactions":…, "splits":{"<name>":{"<part>":count}}, \
            "interactions_per_user":{min,p25,p50,p75,p90,p99,max,mean}, "interactions_per_item":{…}, "features":{…}}.
            """
    )

    @OptionGroup var source: StoreOption
    @OptionGroup var output: JSONFlag

    func run() throws {
        let stats = try StoreJobs.statistics(store: source.store)
        print(output.json ? try jsonText(stats) : StatsTable(stats: stats).text)
    }
}
