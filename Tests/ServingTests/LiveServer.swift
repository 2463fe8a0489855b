import Hummingbird
import HummingbirdCore
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The daemon on a real loopback port for a test, and a plain HTTP/1.1 client for it.
///
/// This stands in for HummingbirdTesting's live mode with the same call shape
/// (`app.test(.live) { client in try await client.execute(uri:method:) { response in … } }`).
/// HummingbirdTesting brings AsyncHTTPClient, and with it BoringSSL, HTTP/2 and the rest of a TLS
/// stack, into every test build; a daemon that speaks plain HTTP/1.1 on loopback needs none of it.
/// Each request opens a connection of its own, so concurrent requests from one client are
/// independent, as they are from many real clients.
enum LiveTest { case live }

/// A response as the tests read it.
struct TestResponse: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: ByteBuffer
}

/// What a test gets to send requests with.
protocol TestClientProtocol: Sendable {
    /// The server's port, for tests that also speak raw TCP to it.
    var port: Int? { get }
    func executeRequest(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> TestResponse
}

extension TestClientProtocol {
    /// Sends one request and passes its response to `testCallback`.
    @discardableResult
    func execute<Return>(uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
                         testCallback: (TestResponse) async throws -> Return = { $0 }) async throws -> Return {
        try await testCallback(executeRequest(uri: uri, method: method, headers: headers, body: body))
    }
}

/// A request that got no complete response in time, or a connection that ended early.
struct LiveClientError: Error, CustomStringConvertible {
    let description: String
}

/// HTTP/1.1 over NIO to 127.0.0.1:`port`, one connection per request.
struct LiveClient: TestClientProtocol {
    let serverPort: Int
    /// Longer than any request of the suite takes, short enough that a hang fails the test.
    var timeout: Duration = .seconds(60)

    var port: Int? { serverPort }

    func executeRequest(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> TestResponse {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: serverPort) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method.rawValue), uri: uri)
        head.headers.add(name: "host", value: "127.0.0.1:\(serverPort)")
        for field in headers { head.headers.add(name: field.name.rawName, value: field.value) }
        if let body, !head.headers.contains(name: "content-length") { head.headers.add(name: "content-length", value: "\(body.readableBytes)") }
        let limit = timeout, requestHead = head
        return try await withThrowingTaskGroup(of: TestResponse?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(.head(requestHead))
                    if let body { try await outbound.write(.body(.byteBuffer(body))) }
                    try await outbound.write(.end(nil))
                    var response: HTTPResponseHead?
                    var collected = ByteBuffer()
                    for try await part in inbound {
                        switch part {
                        case let .head(h): response = h
                        case var .body(chunk): collected.writeBuffer(&chunk)
                        case .end:
                            guard let response else { throw LiveClientError(description: "\(method) \(uri): a response end without a head") }
                            var fields = HTTPFields()
                            for (name, value) in response.headers {
                                if let n = HTTPField.Name(name) { fields.append(HTTPField(name: n, value: value)) }
                            }
                            return TestResponse(status: HTTPResponse.Status(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase),
                                                headers: fields, body: collected)
                        }
                    }
                    throw LiveClientError(description: "\(method) \(uri): the server closed the connection before the response ended")
                }
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                channel.channel.close(promise: nil)
                throw LiveClientError(description: "\(method) \(uri): no complete response within \(limit)")
            }
            return response
        }
    }
}

/// `base` bound to an ephemeral loopback port, which it reports once it listens.
private struct LiveApplication<Base: ApplicationProtocol>: ApplicationProtocol, Service {
    typealias Responder = Base.Responder
    let base: Base
    let ports: AsyncStream<Int>.Continuation

    var responder: Responder { get async throws { try await base.responder } }
    var server: HTTPServerBuilder { base.server }
    var eventLoopGroup: any EventLoopGroup { base.eventLoopGroup }
    var configuration: ApplicationConfiguration { base.configuration.with(address: .hostname("127.0.0.1", port: 0)) }
    var logger: Logger { base.logger }
    var services: [any Service] { base.services }
    var processesRunBeforeServerStart: [@Sendable () async throws -> Void] { base.processesRunBeforeServerStart }

    @Sendable func onServerRunning(_ channel: any Channel) async {
        await base.onServerRunning(channel)
        ports.yield(channel.localAddress?.port ?? 0)
        ports.finish()
    }
}

extension ApplicationProtocol {
    /// Runs the application on loopback for the length of `test`, then shuts it down gracefully.
    func test<Value: Sendable>(_ mode: LiveTest, _ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = LiveApplication(base: self, ports: continuation)
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { continuation.finish() }  // a server that fails to start ends the wait below
                try await services.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                await services.triggerGracefulShutdown()
                throw LiveClientError(description: "the server did not start listening")
            }
            do {
                let value = try await test(LiveClient(serverPort: port))
                await services.triggerGracefulShutdown()
                try await group.waitForAll()
                return value
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
        }
    }
}
