import AccessStore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Writes the metrics to a file for node_exporter's textfile collector
/// (`metrics_textfile`), the way it asks: a temporary file beside it
/// (`PATH.tmp`, which the collector ignores: it reads `*.prom`), then a
/// rename, so that it never reads half a file. Mode 0644 whatever the
/// daemon's umask, so that node_exporter's user can read it. Written on a
/// queue of its own, never on an event loop; a failure is logged once until
/// a write succeeds again.
final class MetricsTextfile: Sendable {
    let path: String
    private let queue = DispatchQueue(label: "accessd-metrics-textfile")
    private let logger: Logger
    /// Whether the last write failed (so that a failing directory logs once).
    private let failing = NIOLockedValueBox(false)

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// Writes `text`; the future completes (on `loop`) once it is in place or has failed.
    func write(_ text: String, on loop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        queue.async { [self] in
            let problem = Self.replace(path, with: Array(text.utf8))
            let wasFailing = failing.withLockedValue { failing in
                defer { failing = problem != nil }
                return failing
            }
            if let problem, !wasFailing {
                logger.warning(
                    "cannot write the metrics textfile; the daemon goes on without it and retries every interval",
                    metadata: .accessd([.path: "\(path)", .error: "\(problem)"]))
            } else if problem == nil, wasFailing {
                logger.notice("the metrics textfile is written again", metadata: .accessd([.path: "\(path)"]))
            }
            promise.succeed(())
        }
        return promise.futureResult
    }

    /// Temp file, write, rename; the reason when it fails.
    static func replace(_ path: String, with bytes: [UInt8]) -> String? {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else { return "open \(temporary): \(String(cString: strerror(errno)))" }
        var failure: String?
        if fchmod(descriptor, 0o644) != 0 { failure = "chmod \(temporary): \(String(cString: strerror(errno)))" }
        var offset = 0
        while failure == nil, offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                failure = "write \(temporary): \(String(cString: strerror(errno)))"
            } else {
                offset += written
            }
        }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = "rename to \(path): \(String(cString: strerror(errno)))" }
        if failure != nil { unlink(temporary) }
        return failure
    }
}
