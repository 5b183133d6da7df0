import AccessStore
import AccessPaths
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// How `accessd` exits, one status per kind of failure, after sysexits(3), so
/// that systemd's `RestartPreventExitStatus=` and an operator's scripts can
/// tell them apart. The README and `accessd --help` list them.
public struct ExitStatus: Sendable, Hashable, CustomStringConvertible {
    public let code: Int32
    public let meaning: String

    /// Stopped by SIGTERM/SIGINT: calls drained and the final snapshot written, or (while recovering) nothing written.
    public static let clean = ExitStatus(
        code: 0, meaning: "stopped cleanly (SIGTERM/SIGINT: calls drained, final snapshot written; while recovering: nothing written)")
    /// A flag or argument the command line does not take (ArgumentParser's own status).
    public static let usage = ExitStatus(code: 64, meaning: "usage: an unknown flag or a bad argument")
    /// The state on disk is damaged (a snapshot whose header or checksum does not hold).
    public static let stateDamaged = ExitStatus(
        code: 65,
        meaning: "state error: no snapshot holds, the journal is damaged or records are missing (see accessctl check-state, --accept-data-loss)")
    /// Unexpected failure inside accessd.
    public static let software = ExitStatus(code: 70, meaning: "internal error")
    /// The socket cannot be created (the path is taken by a file, the directory is not writable), or
    /// must not be: its directory is writable by others or owned by another user (`SocketTrust`).
    public static let socketUnusable = ExitStatus(
        code: 73, meaning: "the socket cannot be created, or its directory lets another user replace it")
    /// The state directory cannot be read or written (at start, or the final snapshot at shutdown).
    public static let stateIO = ExitStatus(
        code: 74,
        meaning: "state error: the state directory or a file in it cannot be read or written (a file accessd's user may not read: chown it), or a journal fsync failed")
    /// Another accessd answers on the socket.
    public static let socketInUse = ExitStatus(code: 75, meaning: "the socket or the state directory is in use by another accessd")
    /// The config file, a flag's value, an environment variable or the sockets systemd passed are wrong,
    /// or the state directory is one accessd refuses (another user's, writable by others, a planted link).
    public static let config = ExitStatus(
        code: 78, meaning: "config error, or a state directory accessd refuses to use (or whose only snapshot is under a name it does not load)")

    public static let all: [ExitStatus] = [.clean, .usage, .stateDamaged, .software, .socketUnusable, .stateIO, .socketInUse, .config]

    public var description: String { "\(code) \(meaning)" }

    /// The status for an error thrown while loading the state (`AccessDaemonServer.init`).
    public static func forStateError(_ error: any Error) -> ExitStatus {
        switch error {
        case let error as StateDirectory.RecoveryError:
            switch error.kind {
            case .damaged: .stateDamaged
            case .unreadable: .stateIO  // a permission, not damage: fix the owner, lose nothing
            case .misplaced: .config  // a snapshot under the wrong name: rename it
            case .stopped: .clean  // SIGTERM while recovering: nothing to report
            }
        case is SnapshotFile.Damaged: .stateDamaged
        case is StateDirectoryLock.InUse: .socketInUse
        case is OwnedDirectory.Refused: .config
        default: .stateIO
        }
    }

    /// The status for an error thrown while starting to listen (`AccessDaemonServer.start`).
    public static func forSocketError(_ error: any Error) -> ExitStatus {
        switch error {
        case is SocketTrust.Problem: return .socketUnusable
        case DaemonError.socketInUse: return .socketInUse
        case let error as IOError where error.errnoCode == EADDRINUSE: return .socketInUse
        default: return .socketUnusable
        }
    }
}
