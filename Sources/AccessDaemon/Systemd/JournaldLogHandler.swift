import AccessStore
import Foundation
public import Logging
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's log level, shared by every logger, so that a reload (SIGHUP)
/// changes it for loggers already handed out (connections keep theirs).
public final class SharedLogLevel: Sendable {
    private let raw: Synchronization.Atomic<UInt8>

    public init(_ level: Logger.Level) {
        raw = Synchronization.Atomic(Self.index(level))
    }

    public var level: Logger.Level {
        get { Self.levels[Int(raw.load(ordering: .relaxed))] }
        set { raw.store(Self.index(newValue), ordering: .relaxed) }
    }

    private static let levels = Logger.Level.allCases
    private static func index(_ level: Logger.Level) -> UInt8 { UInt8(levels.firstIndex(of: level) ?? 2) }
}

/// Writes one line per message to stderr, in a form journald reads well:
/// under systemd (`$JOURNAL_STREAM` names our stderr) `<N>message key=value`
/// with the syslog priority N and no timestamp of our own (journald stamps
/// it); elsewhere `2026-11-23T10:00:00.123Z info accessd: message key=value`.
/// A newline inside a message or a value is written `\n`, so a message is
/// never split across lines.
///
/// The level comes from a `SharedLogLevel`; setting `logLevel` on one logger
/// pins that logger's level instead (a reload no longer changes it).
public struct JournaldLogHandler: LogHandler {
    public enum Format: Sendable {
        /// `<N>` priority prefix, no timestamp.
        case journal
        /// Timestamp, level, label.
        case console
    }

    public let label: String
    public let format: Format
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let shared: SharedLogLevel
    private var pinned: Logger.Level?
    private let output: Output

    public init(label: String, level: SharedLogLevel, format: Format, fileDescriptor: Int32 = 2) {
        self.label = label
        self.shared = level
        self.format = format
        self.output = Output.for(fileDescriptor)
    }

    /// `.journal` when `$JOURNAL_STREAM` (`device:inode`) names the file behind
    /// `fileDescriptor`, as systemd sets it when stderr goes to the journal.
    public static func format(environment: [String: String], fileDescriptor: Int32 = 2) -> Format {
        guard let stream = environment["JOURNAL_STREAM"], !stream.isEmpty else { return .console }
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return .console }
        var status = stat()
        guard fstat(fileDescriptor, &status) == 0 else { return .console }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode ? .journal : .console
    }

    public var logLevel: Logger.Level {
        get { pinned ?? shared.level }
        set { pinned = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// syslog(3) priorities: debug 7, info 6, notice 5, warning 4, error 3, critical 2.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        output.write(line(level: event.level, message: "\(event.message)", metadata: merged))
    }

    /// One line, newline included.
    func line(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var text: String
        switch format {
        case .journal:
            text = "<\(Self.priority(level))>"
        case .console:
            text = "\(Self.timestamp()) \(level) \(label): "
        }
        text += message.replacingNewlines()
        for key in metadata.keys.sorted() {
            text += " \(key)=\(Self.quoted("\(metadata[key]!)"))"
        }
        return text + "\n"
    }

    /// A value with spaces, quotes or an `=` is quoted; newlines are escaped.
    static func quoted(_ value: String) -> String {
        let flat = value.replacingNewlines()
        guard flat.isEmpty || flat.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return flat }
        return "\"" + flat.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }

    /// Whole lines to one descriptor, one `write` each under a lock, so lines
    /// from different threads never interleave.
    final class Output: Sendable {
        let fileDescriptor: Int32
        private let lock = NIOLock()

        private init(_ fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

        private static let shared = NIOLockedValueBox<[Int32: Output]>([:])
        static func `for`(_ fileDescriptor: Int32) -> Output {
            shared.withLockedValue { outputs in
                if let output = outputs[fileDescriptor] { return output }
                let output = Output(fileDescriptor)
                outputs[fileDescriptor] = output
                return output
            }
        }

        func write(_ line: String) {
            let bytes = Array(line.utf8)
            lock.withLock {
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { Glibc.write(fileDescriptor, $0.baseAddress, $0.count) }
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { return }
                    offset += written
                }
            }
        }
    }
}
