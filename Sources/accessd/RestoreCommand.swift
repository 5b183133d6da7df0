import AccessStore
import AccessDaemon
import ArgumentParser
import Foundation

/// `accessd restore FILE --state-dir DIR`: installs a backup, offline.
struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install a backup as the state of a stopped accessd (offline).",
        discussion: """
            Usage: accessd restore FILE --state-dir DIR [--owner USER[:GROUP]] [--force]

            Verifies FILE (a backup from `accessctl backup`, or a snapshot-*.snap of any format this accessd \
            reads), refuses while an accessd holds DIR (stop it first: systemctl stop accessd), refuses a DIR that \
            holds state unless --force (which moves everything in it into DIR/before-restore-<time>/, deleting \
            nothing), installs the bytes as DIR/snapshot-<journal record>.snap, mode 0600, owned by DIR's owner \
            (or --owner), checks that the directory holds that snapshot alone, reading back as verified, and says what it did. \
            Run it as root for a system service, then start accessd.

            EXIT STATUS
            \(StateRestore.statuses.map { "  \($0.0)  \($0.1)" }.joined(separator: "\n"))
            """)

    @Argument(help: "The backup file.")
    var file: String

    /// `--state-dir` is the daemon's own option (one name, one meaning): restore takes it from there.
    @ParentCommand var daemon: Accessd

    @Option(help: "Who owns what is installed: user, user:group, uid or uid:gid (default: the directory's owner, or this user for a directory restore creates).")
    var owner: String?

    @Flag(help: "Restore into a directory that holds state: move what is there into before-restore-<time>/ inside it first.")
    var force = false

    func validate() throws {
        guard daemon.stateDir != nil else {
            throw ValidationError("name the state directory to restore into: --state-dir DIR (for example /var/lib/accessd)")
        }
    }

    func run() throws {
        do {
            for line in try StateRestore.run(file: file, into: daemon.stateDir ?? "", owner: owner, force: force) { print(line) }
        } catch {
            FileHandle.standardError.write(Data("accessd restore: \(error)\n".utf8))
            throw ExitCode(error.status)
        }
    }
}
