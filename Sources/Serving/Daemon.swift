import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The long-running process: the HTTP server over a `RecommendationService`, hot reload on
/// SIGHUP, and on SIGTERM or SIGINT a drain (no new connections, in-flight requests finish)
/// before `run` returns.
public struct Daemon {
    public let service: RecommendationService
    public var logger = Logger(label: "twotower.serve")

    public init(service: RecommendationService) { self.service = service }

    /// The Hummingbird application, for tests that drive it with HummingbirdTesting.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let options = service.options
        return Application(router: Routes.router(for: service),
                           configuration: .init(address: .hostname(options.host, port: options.port), serverName: "twotower"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? options.port) },
                           logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then drains and returns.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let service = self.service, logger = self.logger
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler {
            do {
                let (_, new) = try service.reload()
                logger.info("reloaded on SIGHUP: model \(new.modelVersion), index \(new.indexVersion)")
            } catch {
                logger.error("reload on SIGHUP failed, the previous version keeps serving: \(error)")
            }
        }
        hangup.resume()
        defer { hangup.cancel() }
        try await application(onRunning: onRunning).runService(gracefulShutdownSignals: [.sigterm, .sigint])
        service.shutdown()
    }

    /// Starts the server in this process, runs `body` with the bound port, then shuts the
    /// server down gracefully (as SIGTERM would) and returns `body`'s result. For the demo.
    public func whileRunning<T: Sendable>(_ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(configuration: .init(services: [application { continuation.yield($0) }], logger: logger))
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
            guard let port else { throw APIError(.internalServerError, code: "not_started", "the server did not start") }
            let result: T
            do {
                result = try await body(port)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            for try await _ in tasks {}
            service.shutdown()
            return result
        }
    }
}
