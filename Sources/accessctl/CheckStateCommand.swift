import AccessStore
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

struct CheckState: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-state",
        abstract: "Verify a state directory offline and print what it holds (changes nothing).",
        discussion: """
            Checks the directory as accessd does (a directory others may write in, or a link at its path \
            that root or its owner does not own, is refused; no link inside it is followed), lists each \
            snapshot (journal record, revision, checksum) and journal segment (records, how it ends), \
            then what accessd would recover, or the first problem it would stop at. \
            Exit status 0 when accessd would start from it, 1 otherwise, 66 when there is no such directory.
            """)

    @Argument(help: "The state directory (for example /var/lib/accessd).")
    var directory: String

    func run() throws {
        // accessd would create a missing directory and start empty; a name that is not there is a mistyped one.
        var status = stat()
        guard lstat(directory, &status) == 0 || errno != ENOENT else {
            throw fail(
                "no state directory at \(directory) (accessd's is state_dir in its config file, /var/lib/accessd under systemd)",
                status: ExitStatus.noInput)
        }
        let report = StateDirectory.inspect(path: directory)
        for line in report.lines { print(line) }
        if !report.ok { throw ExitCode.failure }
    }
}
