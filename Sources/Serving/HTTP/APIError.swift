import Foundation
import HTTPTypes
import Hummingbird

/// An error the API reports as JSON: `{"error": {"code", "message", "field"}}` with its status.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// The request field at fault (query parameter, path parameter or body key), when one is.
    public var field: String?
    /// Seconds a client should wait before retrying (503).
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, field: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(code): \(message)" + (field.map { " (field \($0))" } ?? "") }

    public static func badRequest(_ message: String, field: String?) -> APIError { APIError(.badRequest, code: "bad_request", message, field: field) }
    public static func notFound(_ message: String, field: String?) -> APIError { APIError(.notFound, code: "not_found", message, field: field) }
    public static let overloaded = APIError(.serviceUnavailable, code: "overloaded", "the work queue is full; retry shortly", retryAfter: 1)
    public static let deadlineExceeded = APIError(.serviceUnavailable, code: "deadline_exceeded",
                                                  "the request waited past its deadline in the queue; retry shortly", retryAfter: 1)
    public static let draining = APIError(.serviceUnavailable, code: "draining", "the daemon is shutting down", retryAfter: 5)
    public static let tooLarge = APIError(.contentTooLarge, code: "too_large", "the body is over \(RequestParsing.maxBody) bytes", field: "body")
    /// The client went away before its request was read whole (nginx's 499: not a server error).
    public static let clientAborted = APIError(HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request"), code: "client_aborted",
                                               "the client closed the connection before the body was complete", field: "body")

    struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var field: String?

            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(code, forKey: .code)
                try c.encode(message, forKey: .message)
                try c.encode(field, forKey: .field)  // null rather than absent: every error body has the same keys
            }

            enum CodingKeys: String, CodingKey { case code, message, field }
        }
        var error: Detail
    }

    /// The JSON body: `{"error": {"code", "message", "field"}}`, `field` null when no field is at fault.
    public var body: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(Body(error: .init(code: code, message: message, field: field)))) ?? Data()
    }

    /// The JSON response for this error.
    public func response(headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = "\(retryAfter)" }
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
