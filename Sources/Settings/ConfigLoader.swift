import Foundation
import Ingestion
import Model
import Store
import VectorIndex

/// A configuration file that could not be used; the message names the file and the key.
public struct ConfigError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// A check for `validate()` methods: throws "key = value: expected …" when `ok` is false.
    static func checker(for what: String) -> (_ ok: Bool, _ key: String, _ value: Any, _ expected: String) throws -> Void {
        { ok, key, value, expected in
            if !ok { throw ConfigError(path: what, message: "\(key) = \(value): expected \(expected)") }
        }
    }
}

/// A configuration value whose `init()` holds every default.
public protocol DefaultedConfig: Codable {
    init()
}

/// Reads JSON configuration files into Codable values.
///
/// Keys are snake_case in files and camelCase in Swift. A file only needs the keys it changes:
/// it is laid over the type's defaults (`init()`), and a key the type does not have is an error
/// naming it, so a typo never silently falls back to a default.
public enum ConfigLoader {
    /// Decodes `path` as `T`.
    /// - Throws: `ConfigError` naming the file and, for a bad value or unknown key, the key path.
    public static func load<T: DefaultedConfig>(_ type: T.Type, from path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: path, message: "cannot read the file (does it exist?)")
        }
        do {
            return try decode(T.self, from: data)
        } catch let error as DecodingError {
            throw ConfigError(path: path, message: describe(error))
        } catch let error as ConfigError {
            throw ConfigError(path: path, message: error.message)
        } catch {
            throw ConfigError(path: path, message: "not valid JSON: \(error.localizedDescription)")
        }
    }

    /// The top-level keys `path` sets, as the file spells them (snake_case): what a file chose, as
    /// opposed to what it left to the defaults or to the data.
    public static func keys(in path: String) throws -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: path, message: "cannot read the file (does it exist?)")
        }
        return try keys(of: data, path: path)
    }

    /// The top-level keys JSON `data` sets (`path` names it in an error).
    public static func keys(of data: Data, path: String) throws -> Set<String> {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ConfigError(path: path, message: "not a JSON object")
        }
        return Set(object.keys)
    }

    /// Decodes JSON `data` laid over `T()`'s defaults.
    public static func decode<T: DefaultedConfig>(_ type: T.Type, from data: Data) throws -> T {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let defaults = try JSONSerialization.jsonObject(with: encoder.encode(T()))
        let given = try JSONSerialization.jsonObject(with: data)
        let merged = try overlay(given, on: defaults, at: [])
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: JSONSerialization.data(withJSONObject: merged))
    }

    /// `given` laid over `defaults`: objects merge key by key; anything else replaces.
    private static func overlay(_ given: Any, on defaults: Any, at path: [String]) throws -> Any {
        guard let base = defaults as? [String: Any] else { return given }
        guard let object = given as? [String: Any] else {
            throw ConfigError(path: "", message: "\(path.isEmpty ? "the file" : "key " + path.joined(separator: ".")) should be a JSON object")
        }
        var merged = base
        for (key, value) in object {
            guard let inner = base[key] else {
                let known = base.keys.sorted().joined(separator: ", ")
                throw ConfigError(path: "", message: "unknown key \((path + [key]).joined(separator: ".")) (known keys: \(known))")
            }
            merged[key] = try overlay(value, on: inner, at: path + [key])
        }
        return merged
    }

    /// Encodes `value` as pretty, key-sorted, snake_case JSON (for run records).
    public static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.isEmpty ? "(top level)" : keys.map { $0.intValue.map { "[\($0)]" } ?? snake($0.stringValue) }.joined(separator: ".")
        }
        switch error {
        case let .typeMismatch(type, context):
            return "key \(path(context.codingPath)) should be \(type)"
        case let .valueNotFound(type, context):
            return "key \(path(context.codingPath)) is null, expected \(type)"
        case let .keyNotFound(key, context):
            return "missing key \(path(context.codingPath + [key]))"
        case let .dataCorrupted(context):
            if let match = context.debugDescription.firstMatch(of: /Cannot initialize (\w+) from invalid String value (.*)/) {
                let choices = ConfigChoices.names[String(match.1)].map { ": expected one of " + $0.joined(separator: ", ") } ?? ""
                return "key \(path(context.codingPath)) has value \"\(match.2)\"\(choices)"
            }
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "at \(path(context.codingPath)): \(underlying ?? context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// camelCase → snake_case, to name keys as the file spells them.
    static func snake(_ name: String) -> String {
        var out = ""
        for c in name {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}

/// The values each choice in a configuration may take, by type name, for error messages that
/// list them ("key loss has value "hinge": expected one of softmax, ccl, bpr").
enum ConfigChoices {
    static let names: [String: [String]] = [
        "LossName": LossName.allCases.map(\.rawValue),
        "Distribution": NegativeSampler.Distribution.allCases.map(\.rawValue),
        "LearningRateSchedule": LearningRateSchedule.allCases.map(\.rawValue),
        "LogQEstimate": LogQEstimate.allCases.map(\.rawValue),
        "HistoryPooling": HistoryPooling.allCases.map(\.rawValue),
        "Activation": Activation.allCases.map(\.rawValue),
        "Metric": Metric.allCases.map(\.rawValue),
        "VectorEncoding": VectorEncoding.allCases.map(\.rawValue),
        "IndexLayoutChoice": IndexLayoutChoice.allCases.map(\.rawValue),
        "ErrorPolicy": ErrorPolicy.allCases.map(\.rawValue),
        "DataSource": DataSource.allCases.map(\.rawValue),
        "SplitMethodName": SplitMethodName.allCases.map(\.rawValue),
    ]
}
