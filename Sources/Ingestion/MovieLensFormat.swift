import Store

/// MovieLens 100K: `u.data` (`user⇥item⇥rating⇥timestamp`) is required; `u.user`
/// (`id|age|gender|occupation|zip`) and `u.item` (`id|title|release date|video date|url|19 genre
/// flags`) add user and item features when present, with genre names from `u.genre`.
/// `u.item` is Latin-1; titles are decoded as UTF-8 when valid and Latin-1 otherwise.
struct MovieLensFormat {
    let reader: RecordReader
    let writer: StoreWriter

    func ingest(directory: String, report: inout IngestReport) throws {
        let data = try requiredFile(directory, "u.data", format: "movielens")
        if let users = optionalFile(directory, "u.user") { try ingestUsers(users, report: &report) }
        if let items = optionalFile(directory, "u.item") {
            try ingestItems(items, genres: try genreNames(optionalFile(directory, "u.genre"), report: &report), report: &report)
        }
        let tab = FieldSplitter(delimiter: 0x09, quotes: false)
        try reader.read(path: data, splitter: tab, report: &report) { r in
            try r.requireFields(4, "user, item, rating, timestamp")
            let user = try r.numericID(0, "user_id"), item = try r.numericID(1, "item_id")
            let rating = try r.double(2, "rating"), ts = try r.timestamp(3, "timestamp")
            try writer.addInteraction(user: try writer.id(of: .user, raw: user), item: try writer.id(of: .item, raw: item),
                                      timestamp: ts, weight: rating)
            return 1
        }
    }

    private func ingestUsers(_ path: String, report: inout IngestReport) throws {
        let age = try writer.feature(.user, name: "age", kind: .numeric)
        let gender = try writer.feature(.user, name: "gender", kind: .categorical)
        let occupation = try writer.feature(.user, name: "occupation", kind: .categorical)
        let zip = try writer.feature(.user, name: "zip", kind: .categorical)
        try reader.read(path: path, splitter: FieldSplitter(delimiter: 0x7C, quotes: false), report: &report) { r in
            try r.requireFields(5, "user id, age, gender, occupation, zip")
            let raw = try r.numericID(0, "user_id")
            let ageValue = try r.double(1, "age")
            let genderValue = try r.id(2, "gender"), occupationValue = try r.id(3, "occupation"), zipValue = r.text(4)
            let id = try writer.id(of: .user, raw: raw)
            try writer.setNumeric(.user, id: id, feature: age, value: ageValue)
            try writer.setTokens(.user, id: id, feature: gender, tokens: [genderValue])
            try writer.setTokens(.user, id: id, feature: occupation, tokens: [occupationValue])
            try writer.setTokens(.user, id: id, feature: zip, tokens: zipValue.isEmpty ? [] : [zipValue])
            return 1
        }
    }

    private func genreNames(_ path: String?, report: inout IngestReport) throws -> [String] {
        var names = (0..<19).map { "genre\($0)" }
        guard let path else { return names }
        try reader.read(path: path, splitter: FieldSplitter(delimiter: 0x7C, quotes: false), report: &report) { r in
            try r.requireFields(2, "genre name, index")
            let index = try r.int(1, "genre index")
            guard (0..<19).contains(index) else { throw r.malformed("genre index", r.text(1), "outside 0…18") }
            names[Int(index)] = r.text(0)
            return 1
        }
        return names
    }

    private func ingestItems(_ path: String, genres: [String], report: inout IngestReport) throws {
        let genreFeature = try writer.feature(.item, name: "genres", kind: .multihot)
        let year = try writer.feature(.item, name: "year", kind: .numeric)
        try reader.read(path: path, splitter: FieldSplitter(delimiter: 0x7C, quotes: false), report: &report) { r in
            try r.requireFields(5 + 19, "movie id, title, release date, video release date, url, 19 genre flags")
            let raw = try r.numericID(0, "movie_id")
            let title = r.text(1)
            var flags: [String] = []
            for g in 0..<19 {
                let flag = try r.int(5 + g, "genre flag \(genres[g])")
                guard flag == 0 || flag == 1 else { throw r.malformed("genre flag \(genres[g])", r.text(5 + g), "not 0 or 1") }
                if flag == 1 { flags.append(genres[g]) }
            }
            let release = r.text(2)  // like 01-Jan-1995, sometimes empty
            var releaseYear: Double?
            if !release.isEmpty {
                guard release.count >= 4, let y = Double(release.suffix(4)) else {
                    throw r.malformed("release date", release, "expected a date ending in a 4-digit year, like 01-Jan-1995")
                }
                releaseYear = y
            }
            let id = try writer.id(of: .item, raw: raw)
            try writer.setLabel(item: id, label: title)
            try writer.setTokens(.item, id: id, feature: genreFeature, tokens: flags)
            if let releaseYear { try writer.setNumeric(.item, id: id, feature: year, value: releaseYear) }
            return 1
        }
    }
}
