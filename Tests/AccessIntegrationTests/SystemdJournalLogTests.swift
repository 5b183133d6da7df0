import AccessStore
import AccessDaemon
import AccessTestSupport
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 5: logs go to stderr in a journald-friendly form: `<N>` syslog
/// priority prefixes and no timestamps of our own when `$JOURNAL_STREAM`
/// names stderr; one line per message, never several.
@Suite(.serialized) struct SystemdJournalLogTests {
    @Test func journalLinesCarryTheSyslogPriorityAndNoTimestamp() throws {
        let directory = SystemdTestSupport.temporaryDirectory("journal")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", directory + "/run/accessd.sock", "--state-dir", directory + "/state"],
            directory: directory, journalStream: true)
        #expect(daemon.waitForOutput("listening on"))
        daemon.signal(SIGTERM)
        #expect(daemon.wait() == 0)
        let lines = daemon.stderr.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("<6>accessd listening ") }, "\(daemon.stderr)")
        for line in lines {
            #expect(line.range(of: #"^<[2-7]>"#, options: .regularExpression) != nil, "not a journal line: \(line)")
            #expect(line.range(of: #"\d{4}-\d\d-\d\dT"#, options: .regularExpression) == nil, "a timestamp of our own: \(line)")
        }
    }

    @Test func withoutJournalStreamLinesAreTimestamped() throws {
        let directory = SystemdTestSupport.temporaryDirectory("console")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A JOURNAL_STREAM that names another file (a child of a journald-logged shell) does not count.
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", directory + "/run/accessd.sock", "--state-dir", directory + "/state"],
            environment: ["JOURNAL_STREAM": "1:1"], directory: directory)
        #expect(daemon.waitForOutput("listening on"))
        daemon.signal(SIGTERM)
        #expect(daemon.wait() == 0)
        let first = try #require(daemon.stderr.split(separator: "\n").first)
        #expect(first.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info accessd: "#, options: .regularExpression) != nil, "\(first)")
    }

    @Test func priorityPerLevelAndOneLinePerMessage() throws {
        #expect(
            [Logger.Level.debug, .info, .notice, .warning, .error, .critical].map(JournaldLogHandler.priority) == [7, 6, 5, 4, 3, 2])
        var pipe: [Int32] = [0, 0]
        #expect(Glibc.pipe(&pipe) == 0)
        defer { close(pipe[0]) }
        let level = SharedLogLevel(.info)
        var logger = Logger(label: "t") { JournaldLogHandler(label: $0, level: level, format: .journal, fileDescriptor: pipe[1]) }
        logger[metadataKey: "peer"] = "uid 1000"
        logger.debug("hidden")
        logger.warning("two\nlines", metadata: ["k": "v"])
        level.level = .debug
        logger.debug("shown after the shared level changed")
        close(pipe[1])
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(pipe[0], &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "<4>two\\nlines k=v peer=\"uid 1000\"\n<7>shown after the shared level changed peer=\"uid 1000\"\n")
    }
}
