import AccessDaemon
import ArgumentParser

struct CheckState: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-state",
        abstract: "Verify a state directory offline and print what it holds (changes nothing).",
        discussion: """
            Checks the directory as accessd does (a directory others may write in, or a link at its path \
            that root or its owner does not own, is refused; no link inside it is followed), lists each \
            snapshot (journal record, revision, checksum) and journal segment (records, how it ends), \
            then what accessd would recover, or the first problem it would stop at. \
            Exit status 0 when accessd would start from it, 1 otherwise.
            """)

    @Argument(help: "The state directory (for example /var/lib/accessd).")
    var directory: String

    func run() throws {
        let report = StateDirectory.inspect(path: directory)
        for line in report.lines { print(line) }
        if !report.ok { throw ExitCode.failure }
    }
}
