import AccessPaths
import ArgumentParser

/// Options every command that calls the daemon shares.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The daemon's socket (default: found as accessd finds it: $ACCESSD_SOCKET, the config file, ...).")
    var socket: String?

    @Option(name: .customLong("as"), help: "The user (id or email) the call acts for; none for administrator calls.")
    var actor: String = ""

    @Flag(
        help: "Print the reply as one JSON document (numbers as numbers, enum names without their prefix, every field)."
    )
    var json = false

    @Option(
        help: ArgumentHelp(
            "Give up when no reply came in this long (500ms, 10s, 2m; a bare number is seconds; 0: never, the default); sent to the daemon as the call's deadline.",
            valueName: "duration"
        )
    )
    var timeout: Timeout?
}

/// Options of the commands that change something (reads do not show them).
struct WriteOptions: ParsableArguments {
    @Flag(help: "Validate and answer as if applied; change nothing.")
    var dryRun = false

    @Option(
        help:
            "A retry with the same key (same --as, within 24 hours) gets the first reply instead of applying the write again."
    )
    var idempotencyKey: String = ""
}

/// A call's deadline as given on the command line: `500ms`, `10s`, `2m`, `1.5` (seconds), `0` (none).
struct Timeout: ExpressibleByArgument, Hashable, Sendable, CustomStringConvertible {
    /// The frame's `timeout_ms`; 0: none.
    var milliseconds: UInt32
    /// As given, for messages.
    var text: String

    init?(argument: String) {
        let text = argument.trimmingSpaces.lowercased()
        let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        var number = Substring(text)
        var scale = 1000.0
        for unit in units where text.hasSuffix(unit.suffix) {
            number = text.dropLast(unit.suffix.count)
            scale = unit.milliseconds
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value.isFinite
        else { return nil }
        let milliseconds = (value * scale).rounded(.up)
        guard milliseconds <= Double(UInt32.max) else { return nil }
        self.milliseconds = UInt32(milliseconds)
        self.text = argument
    }

    var description: String { text }
}
