import Foundation
import Prometheus
import Synchronization

/// The daemon's Prometheus metrics: requests by route and status, latency by route, requests
/// in flight, queue depth and rejections, and the model and index versions being served.
public final class ServingMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let inFlight: Gauge
    let queueRejections: Counter
    let reloads: Counter
    let eventsAdded: Counter
    let eventCommits: Counter
    /// From a batch's arrival at the event writer to the start of the transaction that takes it.
    let eventQueueWait: DurationHistogram
    /// One group commit to the event log: the appends, then COMMIT with its fsync.
    let eventCommitDuration: DurationHistogram
    /// One merge of logged events into the store's interactions.
    let eventMergeDuration: DurationHistogram
    let eventsMerged: Counter
    let eventMergeFailures: Counter
    /// One `POST /v1/events` inside the daemon, from the handler's start (body read, decoded,
    /// queued, committed) to its answer; finer than the per-route histogram.
    let eventRequestDuration: DurationHistogram
    /// Accepted events not yet merged into the store.
    let eventsPending: Gauge
    let partialAnswers: Counter
    private let versions = Mutex<(model: Gauge?, index: Gauge?)>((nil, nil))
    static let buckets: [Duration] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1].map { .milliseconds($0 * 1000) }

    /// Finer buckets for the event writer's phases, whose tail is what its bars are about.
    static let fineBuckets: [Duration] = [0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 12.5, 15, 17.5, 20, 25, 30, 50, 100, 250, 1000].map { .microseconds($0 * 1000) }

    public init() {
        inFlight = registry.makeGauge(descriptor: .init(namespace: "twotower", metricName: "http_requests_in_flight", unitName: "",
                                                        helpText: "Requests being handled"), labels: [])
        queueRejections = registry.makeCounter(descriptor: .init(namespace: "twotower", metricName: "queue_rejections", unitName: "total",
                                                                 helpText: "Requests answered 503 because the work queue was full or their deadline passed"), labels: [])
        reloads = registry.makeCounter(descriptor: .init(namespace: "twotower", metricName: "reloads", unitName: "total",
                                                         helpText: "Successful hot reloads"), labels: [])
        eventsAdded = registry.makeCounter(descriptor: .init(namespace: "twotower", metricName: "events_added", unitName: "total",
                                                             helpText: "Online events accepted as new interactions (durable in the event log)"), labels: [])
        eventsPending = registry.makeGauge(descriptor: .init(namespace: "twotower", metricName: "events_pending", unitName: "",
                                                             helpText: "Accepted events not yet merged into the store (they are in the event log)"), labels: [])
        eventsMerged = registry.makeCounter(descriptor: .init(namespace: "twotower", metricName: "events_merged", unitName: "total",
                                                              helpText: "Logged events merged into the store's interactions"), labels: [])
        eventMergeFailures = registry.makeCounter(descriptor: .init(namespace: "twotower", metricName: "event_merge_failures", unitName: "total",
                                                                    helpText: "Merges of the event log rolled back (their events stay pending and logged; the next merge retries them)"), labels: [])
        partialAnswers = registry.makeCounter(descriptor: .init(namespace: "twotower", metricName: "partial_answers", unitName: "total",
                                                                helpText: "Router answers missing at least one shard (down, failing or past the deadline)"), labels: [])
        eventCommits = registry.makeCounter(descriptor: .init(namespace: "twotower", metricName: "event_commits", unitName: "total",
                                                              helpText: "Group commits of the event writer (each writes every batch waiting to the event log as one record)"), labels: [])
        eventQueueWait = registry.makeDurationHistogram(descriptor: .init(namespace: "twotower", metricName: "event_queue_wait", unitName: "seconds",
                                                                          helpText: "Time an event batch waits for the writer's next transaction"),
                                                        labels: [], buckets: Self.fineBuckets)
        eventCommitDuration = registry.makeDurationHistogram(descriptor: .init(namespace: "twotower", metricName: "event_commit_duration", unitName: "seconds",
                                                                               helpText: "One group commit of the event writer: the checks, the record written to the event log and its fdatasync"),
                                                             labels: [], buckets: Self.fineBuckets)
        eventRequestDuration = registry.makeDurationHistogram(descriptor: .init(namespace: "twotower", metricName: "event_request_duration", unitName: "seconds",
                                                                                helpText: "One POST /v1/events from the handler's start to its answer"),
                                                              labels: [], buckets: Self.fineBuckets)
        eventMergeDuration = registry.makeDurationHistogram(descriptor: .init(namespace: "twotower", metricName: "event_merge_duration", unitName: "seconds",
                                                                              helpText: "One merge of logged events into the store"),
                                                            labels: [], buckets: Self.buckets + [.seconds(2.5), .seconds(10)])
    }

    func record(route: String, method: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: .init(namespace: "twotower", metricName: "http_requests", unitName: "total",
                                               helpText: "Requests by route, method and status"),
                             labels: [("route", route), ("method", method), ("status", "\(status)")]).increment()
        registry.makeDurationHistogram(descriptor: .init(namespace: "twotower", metricName: "http_request_duration", unitName: "seconds",
                                                         helpText: "Request latency by route"),
                                       labels: [("route", route)], buckets: Self.buckets)
            .record(.nanoseconds(Int64(seconds * 1e9)))
    }

    func served(model: String, index: String) {
        versions.withLock { v in
            v.model?.set(to: 0)
            v.index?.set(to: 0)
            v.model = registry.makeGauge(descriptor: .init(namespace: "twotower", metricName: "model_version", unitName: "info",
                                                           helpText: "1 for the model version being served"), labels: [("version", model)])
            v.index = registry.makeGauge(descriptor: .init(namespace: "twotower", metricName: "index_version", unitName: "info",
                                                           helpText: "1 for the index version being served"), labels: [("version", index)])
            v.model?.set(to: 1)
            v.index?.set(to: 1)
        }
    }

    /// The Prometheus text exposition.
    public func render() -> String { registry.emitToString() }
}
