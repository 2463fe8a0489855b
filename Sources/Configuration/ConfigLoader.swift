import Foundation

/// A configuration file that could not be used; the message names the file and the key.
public struct ConfigError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}

/// Reads JSON configuration files into Codable values. Keys missing from a file take the type's
/// defaults, so a file only needs what it changes.
public enum ConfigLoader {
    /// Decodes `path` as `T`.
    /// - Throws: `ConfigError` naming the file and, for a bad value, the key path and the problem.
    public static func load<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: path, message: "cannot read the file (does it exist?)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw ConfigError(path: path, message: describe(error))
        } catch {
            throw ConfigError(path: path, message: "not valid JSON: \(error.localizedDescription)")
        }
    }

    /// Encodes `value` as pretty, key-sorted JSON (for `--print-config` and run records).
    public static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.isEmpty ? "(top level)" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .typeMismatch(type, context):
            return "key \(path(context.codingPath)) should be \(type)"
        case let .valueNotFound(type, context):
            return "key \(path(context.codingPath)) is null, expected \(type)"
        case let .keyNotFound(key, context):
            return "missing key \(path(context.codingPath + [key]))"
        case let .dataCorrupted(context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "at \(path(context.codingPath)): \(underlying ?? context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// Decodes a keyed field, falling back to a default when absent.
extension KeyedDecodingContainer {
    func value<T: Decodable>(_ key: Key, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}
