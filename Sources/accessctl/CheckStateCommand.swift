import AccessDaemon
import ArgumentParser

struct CheckState: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-state",
        abstract: "Verify a state directory offline and print what it holds (changes nothing).",
        discussion: """
            Lists each snapshot (journal record, revision, checksum) and journal segment (records, \
            how it ends), then what accessd would recover, or the first problem it would stop at. \
            Exit status 0 when accessd would start from it, 1 otherwise.
            """)

    @Argument(help: "The state directory (for example /var/lib/accessd).")
    var directory: String

    func run() throws {
        let report = StateDirectory(path: directory).inspect()
        for line in report.lines { print(line) }
        if !report.ok { throw ExitCode.failure }
    }
}
