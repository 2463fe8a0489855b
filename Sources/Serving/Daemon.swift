import Foundation
import Hummingbird
import Logging
import NIOCore

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
}
