import Store

/// LightGCN benchmark files: each line of `train.txt` / `test.txt` is `user item item …`,
/// separated by spaces. There are no timestamps or weights. The files' own split is kept as the
/// split named `given` (train.txt → train, test.txt → test).
struct LightGCNFormat {
    let reader: RecordReader
    let writer: StoreWriter
    static let splitName = "given"

    func ingest(directory: String, report: inout IngestReport) throws {
        let train = try requiredFile(directory, "train.txt", format: "lightgcn")
        let test = try requiredFile(directory, "test.txt", format: "lightgcn")
        let split = try writer.beginSplit(name: Self.splitName, method: "given",
                                          parameters: "{\"train\":\"train.txt\",\"test\":\"test.txt\"}")
        let splitter = FieldSplitter(delimiter: 0x20, collapseRuns: true, quotes: false)
        var items: [String] = []
        for (path, part) in [(train, SplitPart.train), (test, SplitPart.test)] {
            try reader.read(path: path, splitter: splitter, report: &report) { record in
                let user = try record.numericID(0, "user")
                items.removeAll(keepingCapacity: true)
                for index in 1..<max(record.count, 1) { items.append(try record.numericID(index, "item")) }
                // Parsed in full before writing, so a skipped line writes nothing.
                let userID = try writer.id(of: .user, raw: user)
                for item in items {
                    let itemID = try writer.id(of: .item, raw: item)
                    let interaction = try writer.addInteraction(user: userID, item: itemID, timestamp: nil, weight: nil)
                    try writer.assign(split: split, interaction: interaction, part: part)
                }
                return items.count
            }
        }
    }
}
