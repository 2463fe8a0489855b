import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser rejects (a request line or headers over the limits, bytes
/// that are not HTTP) with the same JSON error body as every other error, then closes the
/// connection: 431 for headers too large, 414 for a target too long, else 400. Without it the
/// framework answers an empty 400.
final class ParseErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The longest request target (path and query) accepted.
    static let maxTarget = 16 * 1024
    private var answered = false

    /// Between a request's head and its end: a parse error then (the client went away mid-body)
    /// is the request's own failure, passed on to it, not a new request to answer.
    private var inRequest = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if (head.path?.utf8.count ?? 0) > Self.maxTarget {
                respond(context, APIError(.uriTooLong, code: "uri_too_long",
                                          "the request target is over \(Self.maxTarget) bytes; ids and queries are shorter", field: "path"))
                return
            }
            inRequest = true
        case .end: inRequest = false
        case .body: break
        }
        guard !answered else { return }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parse = error as? HTTPParserError, !inRequest else {
            context.fireErrorCaught(error)
            return
        }
        switch parse {
        case .headerOverflow:
            respond(context, APIError(.requestHeaderFieldsTooLarge, code: "headers_too_large",
                                      "the request line or headers are over the server's limit", field: "headers"))
        case .invalidURL:
            respond(context, APIError(.badRequest, code: "bad_request", "the request target is not a valid URL", field: "path"))
        default:
            respond(context, APIError(.badRequest, code: "bad_request", "the request is not valid HTTP/1.1 (\(parse))"))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Once this handler has answered, the framework's own answer to the same error is dropped.
        guard !answered else {
            promise?.succeed()
            return
        }
        context.write(data, promise: promise)
    }

    private func respond(_ context: ChannelHandlerContext, _ error: APIError) {
        guard !answered else { return }
        answered = true
        let body = error.body
        let head = HTTPResponse(status: error.status, headerFields: [.contentType: "application/json", .contentLength: "\(body.count)",
                                                                     .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
