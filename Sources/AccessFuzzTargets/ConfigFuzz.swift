import AccessStore
import AccessDaemon
import AccessPaths

/// The `config` target: the bytes as a config file's text (invalid UTF-8
/// replaced, as a lenient reader would). `ConfigFile(text:path:)` and
/// `apply(to:)` must not crash; an error must name a line of the file
/// (1...its line count); each key must say the line it came from, checking
/// its value against the table (`value(of:)`) must pass or name its line, the
/// value must hold no line break ("\n", or the "\r" of a "\r\n"; a lone "\r" inside
/// a line is a character of the value), and the values written back as
/// `key = value` lines must parse to the same values.
enum ConfigFuzz {
    static let path = "/etc/accessd/accessd.conf"

    static func run(_ bytes: [UInt8]) throws(Violation) {
        let text = String(decoding: bytes, as: UTF8.self)
        let lineCount = text.utf8.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        func named(_ error: any Error) throws(Violation) {
            guard let invalid = error as? ConfigFile.Invalid else { throw Violation("the config file threw \(error)") }
            try check(invalid.path == path, "an error names \(invalid.path), not the file")
            try check(
                (1...lineCount).contains(invalid.line), "an error names line \(invalid.line) of \(lineCount): \(invalid)")
        }
        let file: ConfigFile
        do {
            file = try ConfigFile(text: text, path: path)
        } catch {
            try named(error)
            return
        }
        for (key, entry) in file.entries {
            try check((1...lineCount).contains(entry.line), "\(key.name) names line \(entry.line) of \(lineCount)")
            try check(
                !entry.value.unicodeScalars.contains("\n") && entry.value.unicodeScalars.last != "\r",
                "the value of \(key.name) runs over a line break: \(entry.value.debugDescription)")
            do {
                _ = try file.value(of: key)
            } catch {
                try named(error)
            }
        }
        let values = file.entries.mapValues(\.value)
        let written = values.keys.sorted { $0.name < $1.name }.map { "\($0.name) = \(values[$0]!)" }.joined(separator: "\n")
        do {
            let again = try ConfigFile(text: written, path: path)
            try check(again.entries.mapValues(\.value) == values, "\(values) written back parses as \(again.entries)")
        } catch let violation as Violation {
            throw violation
        } catch {
            throw Violation("\(values) written back does not parse: \(error)")
        }
        var configuration = DaemonConfiguration(socketPath: "/run/accessd.sock", stateDirectory: "/var/lib/accessd")
        do {
            try file.apply(to: &configuration)
        } catch {
            try named(error)
        }
    }
}
