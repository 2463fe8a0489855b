import Foundation
import ModelStore

/// The JSON bodies the routes accept, as `Decodable` types: a key that is not one of a body's
/// fields is an error naming it, as is a value of the wrong type (with its path, such as
/// `vector[7]` or `features.age`). `RequestBodies.decode` turns decoding failures into 400s.
public enum RequestBodies {
    /// `POST /v1/recommendations`: a cold or anonymous user.
    public struct ColdStart: Decodable, Sendable {
        public var features: [String: FeatureInputJSON]?
        public var recentItems: [ItemID]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case features
            case recentItems = "recent_items"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            try AnyKey.reject(c, allowed: CodingKeys.allCases.map(\.rawValue))
            let keyed = try decoder.container(keyedBy: CodingKeys.self)
            features = try keyed.decodeIfPresent([String: FeatureInputJSON].self, forKey: .features)
            recentItems = try keyed.decodeIfPresent([ItemID].self, forKey: .recentItems)
            if let recentItems, recentItems.count > RequestBodies.maxItems {
                throw DecodingError.dataCorruptedError(forKey: .recentItems, in: keyed,
                                                       debugDescription: "holds \(recentItems.count) items; at most \(RequestBodies.maxItems)")
            }
        }
    }

    /// `PUT /v1/items/{id}`: an item's vector, or features for the item tower to embed.
    public struct ItemUpdate: Decodable, Sendable {
        public var vector: [Float]?
        public var features: [String: FeatureInputJSON]?

        enum CodingKeys: String, CodingKey, CaseIterable { case vector, features }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            try AnyKey.reject(c, allowed: CodingKeys.allCases.map(\.rawValue))
            let keyed = try decoder.container(keyedBy: CodingKeys.self)
            vector = try keyed.decodeIfPresent([Float].self, forKey: .vector)
            features = try keyed.decodeIfPresent([String: FeatureInputJSON].self, forKey: .features)
        }
    }

    /// `POST /v1/events`: a JSON array of interactions, at most `EventWriter.maxBatch`.
    public struct Events: Decodable, Sendable, TopLevelArray {
        public static let name = "events"
        public var events: [Event]

        public init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            if let n = c.count, n > EventWriter.maxBatch {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "holds \(n) events; at most \(EventWriter.maxBatch) per request"))
            }
            if c.count == 0 { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "holds no events")) }
            events = []
            while !c.isAtEnd { events.append(try c.decode(Event.self)) }
        }
    }

    /// One event: who, which item, when (epoch seconds; default: when it arrives), how much.
    public struct Event: Decodable, Sendable {
        public var user: String
        public var item: String
        public var timestamp: Int64?
        public var weight: Double?

        enum CodingKeys: String, CodingKey, CaseIterable { case user, item, timestamp, weight }
        private static let allowed = CodingKeys.allCases.map(\.rawValue)
        private static let (userKey, itemKey, timestampKey, weightKey) =
            (AnyKey(CodingKeys.user), AnyKey(CodingKeys.item), AnyKey(CodingKeys.timestamp), AnyKey(CodingKeys.weight))

        /// One keyed container for both the unknown-key check and the values: every container
        /// costs the decoder a pass over the object, and a batch decodes many events.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            try AnyKey.reject(c, allowed: Self.allowed)
            user = try Self.id(c, Self.userKey)
            item = try Self.id(c, Self.itemKey)
            timestamp = try c.decodeIfPresent(Int64.self, forKey: Self.timestampKey)
            if let timestamp, timestamp < 0 {
                throw DecodingError.dataCorruptedError(forKey: Self.timestampKey, in: c, debugDescription: "\(timestamp) is before 1970; give epoch seconds")
            }
            weight = try c.decodeIfPresent(Double.self, forKey: Self.weightKey)
            if let weight, !weight.isFinite || abs(weight) > Double(Float.greatestFiniteMagnitude) {
                throw DecodingError.dataCorruptedError(forKey: Self.weightKey, in: c, debugDescription: "\(weight) is not a finite weight")
            }
        }

        private static func id(_ c: KeyedDecodingContainer<AnyKey>, _ key: AnyKey) throws -> String {
            let id = try c.decode(ItemID.self, forKey: key).raw
            if let problem = RequestBodies.idProblem(id) {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: problem)
            }
            return id
        }
    }

    /// Why an id is not acceptable (empty, too long, control characters), or nil.
    static func idProblem(_ id: String) -> String? {
        if id.isEmpty { return "is empty" }
        if id.utf8.count > maxIDBytes { return "is \(id.utf8.count) bytes long; at most \(maxIDBytes)" }
        if id.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { return "holds a control character" }
        return nil
    }

    /// Longest raw id accepted, in UTF-8 bytes (as ingest).
    public static let maxIDBytes = 4_096

    /// `POST /v1/search`: a query vector, and items to leave out (raw ids).
    public struct VectorSearch: Decodable, Sendable {
        public var vector: [Float]
        public var exclude: [ItemID]?

        enum CodingKeys: String, CodingKey, CaseIterable { case vector, exclude }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            try AnyKey.reject(c, allowed: CodingKeys.allCases.map(\.rawValue))
            let keyed = try decoder.container(keyedBy: CodingKeys.self)
            vector = try keyed.decode([Float].self, forKey: .vector)
            exclude = try keyed.decodeIfPresent([ItemID].self, forKey: .exclude)
            if let exclude, exclude.count > 100_000 {
                throw DecodingError.dataCorruptedError(forKey: .exclude, in: keyed, debugDescription: "holds \(exclude.count) ids; at most 100000")
            }
        }
    }

    /// Items in a list: `recent_items` and events name items by raw id, a string or an integer.
    public struct ItemID: Decodable, Sendable, Equatable {
        public var raw: String

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { raw = s; return }
            if let i = try? c.decode(Int64.self) { raw = String(i); return }
            throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "an item id is a string or an integer"))
        }
    }

    /// A feature value: a number (finite, within float range), a category, or a list of tags.
    public struct FeatureInputJSON: Decodable, Sendable {
        public var value: FeatureInput

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { value = .token(s); return }
            if let list = try? c.decode([String].self) { value = .tokens(list); return }
            if (try? c.decode(Bool.self)) == nil, let x = try? c.decode(Double.self) {
                guard x.isFinite, abs(x) <= Double(Float.greatestFiniteMagnitude) else {
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(x) is outside the range of a float feature")
                }
                value = .number(x)
                return
            }
            throw DecodingError.typeMismatch(Double.self, .init(codingPath: decoder.codingPath,
                                                                 debugDescription: "must be a number, a string or a list of strings"))
        }
    }

    /// Most items a list in a body may hold.
    public static let maxItems = 1_000

    /// Decodes a body, or a 400 naming the field at fault (`body` when it is not a JSON object,
    /// or an array for the bodies that are one).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        // The first byte tells an object from an array; the decoder finds any other fault. Only
        // a body that fails is parsed a second time, to say whether it was JSON at all.
        let isArray = T.self is TopLevelArray.Type
        let first = data.first { !(UInt8(ascii: " ") == $0 || UInt8(ascii: "\n") == $0 || UInt8(ascii: "\r") == $0 || UInt8(ascii: "\t") == $0) }
        func refuse() -> APIError {
            let parsed = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return APIError.badRequest(parsed == nil ? "the body is not valid JSON" : "the body must be a JSON \(isArray ? "array" : "object")", field: "body")
        }
        guard first == UInt8(ascii: isArray ? "[" : "{") else { throw refuse() }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            if case let .dataCorrupted(context) = error, context.codingPath.isEmpty,
               (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) == nil {
                throw refuse()
            }
            let prefix = (T.self as? TopLevelArray.Type)?.name ?? ""
            let (path, message) = describe(error, prefix: prefix)
            throw APIError.badRequest(message, field: path.isEmpty ? "body" : path)
        }
    }

    /// The field path (`features.age`, `vector[7]`) and a message for a decoding failure.
    static func describe(_ error: DecodingError, prefix: String = "") -> (String, String) {
        func path(_ keys: [CodingKey]) -> String {
            keys.reduce(keys.first?.intValue != nil ? prefix : "") { out, key in
                if let i = key.intValue { return out + "[\(i)]" }
                return out.isEmpty ? key.stringValue : out + "." + key.stringValue
            }
        }
        switch error {
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            let p = path(context.codingPath)
            return (p, "\(p.isEmpty ? "the body" : p) has the wrong type: \(context.debugDescription)")
        case let .keyNotFound(key, context):
            let p = path(context.codingPath + [key])
            return (p, "\(p) is missing")
        case let .dataCorrupted(context):
            let p = path(context.codingPath)
            return (p, "\(p.isEmpty ? "the body" : p): \(context.debugDescription)")
        @unknown default:
            return ("", "\(error)")
        }
    }
}

/// A body that is a JSON array rather than an object; errors name its elements `name[i]`.
public protocol TopLevelArray {
    static var name: String { get }
}

/// Any key of a JSON object, to reject the ones a body does not have.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    init(_ key: some CodingKey) { stringValue = key.stringValue }

    static func reject(_ container: KeyedDecodingContainer<AnyKey>, allowed: [String]) throws {
        for key in container.allKeys where !allowed.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath + [key],
                                                    debugDescription: "unknown key; expected \(allowed.sorted().joined(separator: ", "))"))
        }
    }
}
