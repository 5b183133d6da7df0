import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// What a signal asks of the daemon.
enum DaemonSignal: Sendable {
    /// SIGTERM or SIGINT: drain and stop.
    case terminate(Int32)
    /// SIGHUP: reload the configuration.
    case reload
}

/// SIGTERM, SIGINT and SIGHUP as an async sequence, read one at a time (so
/// reloads never overlap). The default actions are ignored from the call on.
final class SignalEvents: Sendable {
    let events: AsyncStream<DaemonSignal>
    // Dispatch sources are thread-safe; they are only kept alive here.
    nonisolated(unsafe) private let sources: [any DispatchSourceSignal]

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: DaemonSignal.self)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            let event: DaemonSignal = signalNumber == SIGHUP ? .reload : .terminate(signalNumber)
            source.setEventHandler { continuation.yield(event) }
            source.resume()
            sources.append(source)
        }
        self.events = stream
        self.sources = sources
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
