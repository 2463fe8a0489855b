import ArgumentParser
import Foundation
import Pipeline

struct PublishShards: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish-shards",
        abstract: "Publish S index shards as one set: a manifest, written last and renamed into place.",
        discussion: """
            Give the S index directories (or version directories) in shard order, shard 0 first: \
            the ones `build-index --ids` wrote from `embed --shard I/S`. Each must open, be complete \
            and agree on dimension and metric; the manifest then names each shard's version \
            directory (immutable, unlike its CURRENT link) and replaces --out atomically, so a \
            reader sees the previous complete set or the new one. `recommend --index` and \
            `serve` shard daemons read what it names.
            """
    )

    @Option(help: "The manifest to write (for example shards/shard-set.json).")
    var out: String

    @Argument(help: "The shards' index directories, shard 0 first.")
    var indexes: [String]

    @OptionGroup var output: JSONFlag

    func validate() throws {
        guard !indexes.isEmpty else { throw ValidationError("give the shards' index directories, shard 0 first") }
    }

    func run() throws {
        let set = try ShardSet.publish(versions: indexes, to: out)
        if output.json {
            print(try jsonText(set))
            return
        }
        print("Published \(out): \(set.shards.count) shards, \(Format.count(set.shards.reduce(0) { $0 + $1.items })) items "
            + "(\(set.dimension)-dimensional, \(set.metric))")
        for member in set.shards { print("  \(member.shard)  \(Format.count(member.items)) items  \(member.index)") }
    }
}
