import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// The long-running process: one `ServiceGroup` of the worker pool, the event writer, the SIGHUP
/// reloader and the HTTP server, started in that order and stopped in reverse. On SIGTERM or
/// SIGINT the server stops accepting and finishes in-flight requests, then the reloader stops,
/// the event writer commits what is queued, and the pool drains; `run` returns when all have.
public struct Daemon {
    public let service: RecommendationService
    public var logger = Logger(label: "twotower.serve")

    public init(service: RecommendationService) { self.service = service }

    /// The Hummingbird application, for tests that drive it with HummingbirdTesting.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let options = service.options
        let idle = options.idleTimeout.map { TimeAmount.nanoseconds(Int64($0.components.seconds) * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000) }
        return Application(router: Routes.router(for: service),
                           server: .http1(configuration: .init(additionalChannelHandlers: [ParseErrorResponder()], idleTimeout: idle)),
                           configuration: .init(address: .hostname(options.host, port: options.port), serverName: "twotower"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? options.port) },
                           logger: logger)
    }

    private func group(_ app: some ApplicationProtocol, signals: [UnixSignal]) -> ServiceGroup {
        ServiceGroup(configuration: .init(services: [service.pool, service.events, Reloader(service: service, logger: logger), app],
                                          gracefulShutdownSignals: signals, logger: logger))
    }

    /// Serves until SIGTERM or SIGINT, then drains and returns.
    /// - Throws: `DaemonError.cannotListen` when the address is taken or not available.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        do {
            try await group(application(onRunning: onRunning), signals: [.sigterm, .sigint]).run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EADDRNOTAVAIL || error.errnoCode == EACCES {
            throw DaemonError.cannotListen(host: service.options.host, port: service.options.port,
                                           reason: String(cString: strerror(error.errnoCode)).lowercased())
        }
    }

    /// Starts the server in this process, runs `body` with the bound port, then shuts the
    /// server down gracefully (as SIGTERM would) and returns `body`'s result. For the demo.
    public func whileRunning<T: Sendable>(_ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let group = group(application { continuation.yield($0) }, signals: [])
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var port: Int?
            for await p in ports {
                port = p
                break
            }
            guard let port else { throw DaemonError.notStarted }
            let result: T
            do {
                result = try await body(port)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            for try await _ in tasks {}
            return result
        }
    }
}

/// Why the daemon could not start.
public enum DaemonError: Error, CustomStringConvertible {
    case cannotListen(host: String, port: Int, reason: String)
    case notStarted

    public var description: String {
        switch self {
        case let .cannotListen(host, port, reason): "cannot listen on \(host):\(port): \(reason)"
        case .notStarted: "the server did not start"
        }
    }
}
