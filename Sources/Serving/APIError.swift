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

    struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var field: String?
        }
        var error: Detail
    }

    /// The JSON response for this error.
    public func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = "\(retryAfter)" }
        let body = (try? JSONEncoder().encode(Body(error: .init(code: code, message: message, field: field)))) ?? Data()
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
