/// Why the daemon ended other than by a clean stop. `AccessDaemonService.run`
/// logs it (at critical, with the exit status) and throws it once everything
/// is released; the executable exits with `exitStatus`. The library never
/// exits the process itself.
package enum DaemonFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The start failed (`what`: "cannot load the state", "cannot listen on the socket"), with the exit status
    /// `ExitStatus.forStateError` or `forSocketError` chose.
    case start(ExitStatus, what: String, error: String)
    /// A journal fsync failed: the kernel may have dropped what it held, so
    /// nothing more is acknowledged and a restart's recovery decides what is on disk.
    case fatalSync(error: String)
    /// The calls drained, but the final snapshot could not be written (the
    /// journal still holds every acknowledged write).
    case finalSnapshot(error: String)

    package var exitStatus: ExitStatus {
        switch self {
        case .start(let status, _, _): status
        case .fatalSync, .finalSnapshot: .stateIO
        }
    }

    /// The log line's message: what failed, the same for every occurrence.
    package var message: String {
        switch self {
        case .start(_, let what, _): what
        case .fatalSync: "stopped after a failed journal fsync; a restart recovers from what is on disk"
        case .finalSnapshot: "stopped without the final snapshot (the journal still holds every acknowledged write)"
        }
    }

    /// The underlying error's words.
    package var error: String {
        switch self {
        case .start(_, _, let error), .fatalSync(let error), .finalSnapshot(let error): error
        }
    }

    package var description: String { "\(message): \(error)" }
}
