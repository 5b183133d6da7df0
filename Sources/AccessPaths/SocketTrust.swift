#if canImport(Glibc)
    import Glibc
#endif

/// Whether a Unix socket's path can be trusted to lead to the daemon, not to
/// an impostor (README, "Where things are"; docs/protocol.md: the socket lives
/// "in a directory only the daemon's user can write").
///
/// Whoever can write the socket's directory can move the socket aside and
/// bind their own in its place. So the directory (the socket's direct parent,
/// judged by what it is: a symbolic link is not followed) must be
/// - a real directory, not a symbolic link;
/// - writable by its owner only: no group or other write bit (so a shared,
///   sticky directory such as `/tmp` itself does not qualify either);
/// - owned by root or by the one user who may have put the socket there:
///   the daemon's own user (`checkDirectory(ofDaemonSocket:)`, the daemon's
///   rule at start), or the socket file's owner (`check(socketPath:)`, the
///   client's rule: a client does not know the daemon's uid).
///
/// A client also requires the socket file itself (not followed either) to be
/// owned by root or by the connecting user: a socket another user owns may
/// be theirs, not the daemon's, whatever its directory (they may have made
/// the directory before the daemon did, as with `/tmp/accessd-$UID`).
///
/// Directories above the socket's directory are not checked.
package enum SocketTrust {
    /// Why a socket's path is not trusted, in words a person can act on.
    package struct Problem: Error, Hashable, Sendable, CustomStringConvertible {
        package enum Kind: Hashable, Sendable {
            /// The socket's directory is a symbolic link.
            case directoryIsSymbolicLink
            /// The daemon cannot open or examine the socket's directory (errno).
            case directoryUnusable(errno: Int32)
            /// The socket's directory is owned by this uid, which is not trusted.
            case directoryOwner(uid: UInt32)
            /// The socket's directory has a group or other write bit (this mode).
            case directoryWritable(mode: UInt32)
            /// The socket file is a symbolic link.
            case socketIsSymbolicLink
            /// The socket file is owned by this uid, which is neither root nor the connecting user.
            case socketOwner(uid: UInt32)
        }

        package let kind: Kind
        /// The directory or socket judged.
        package let path: String
        package let description: String
    }

    /// The client's rule: may a client running as `user` connect to `socketPath`?
    ///
    /// The socket (not followed) must be owned by root or `user`; its
    /// directory (not followed) must be owned by root or the socket's owner
    /// and writable by nobody but its owner.
    /// - Parameter user: The connecting uid; nil for this process's effective uid.
    /// - Returns: nil when the socket may be trusted, or when there is no
    ///   socket to judge (missing, or out of this process's reach:
    ///   connecting then fails and says why).
    package static func check(socketPath: String, user: UInt32? = nil) -> Problem? {
        let user = user ?? geteuid()
        let (directory, name) = split(socketPath)
        let opened = open(directory, openFlags)
        guard opened >= 0 else {
            // Missing, not a directory, not searchable: connecting fails and says why.
            return symbolicLinkProblem(directory: directory, side: .client)
        }
        defer { close(opened) }
        var socketStatus = stat()
        var directoryStatus = stat()
        guard fstatat(opened, name, &socketStatus, AT_SYMLINK_NOFOLLOW) == 0, fstat(opened, &directoryStatus) == 0 else {
            return nil
        }
        switch socketStatus.st_mode & S_IFMT {
        case S_IFLNK:
            return Problem(
                kind: .socketIsSymbolicLink, path: socketPath,
                description: "\(socketPath) is a symbolic link, not a socket; connect to the socket itself")
        case S_IFSOCK:
            break
        default:
            return nil
        }
        let owner = socketStatus.st_uid
        guard owner == 0 || owner == user else {
            return Problem(
                kind: .socketOwner(uid: owner), path: socketPath,
                description: "\(socketPath) belongs to uid \(owner), not to root or to you (uid \(user)), "
                    + "so it may be that user's impostor; connect to a socket owned by root or by you "
                    + "(accessd.socket makes /run/accessd.sock owned by root)")
        }
        return judge(directory: directory, directoryStatus, socketName: name, trustedOwner: owner, side: .client)
    }

    /// The daemon's rule: may a daemon running as `daemonUser` serve a socket
    /// at `socketPath`? Its directory, which must exist (the daemon creates
    /// it first), must be a real directory owned by root or `daemonUser`
    /// and writable by nobody but its owner. A socket passed by systemd
    /// (socket activation) is systemd's business and not judged.
    /// - Parameter daemonUser: The daemon's uid; nil for this process's effective uid.
    package static func checkDirectory(ofDaemonSocket socketPath: String, daemonUser: UInt32? = nil) -> Problem? {
        let daemonUser = daemonUser ?? geteuid()
        let (directory, name) = split(socketPath)
        let opened = open(directory, openFlags)
        guard opened >= 0 else {
            let failure = errno
            return symbolicLinkProblem(directory: directory, side: .daemon)
                ?? Problem(
                    kind: .directoryUnusable(errno: failure), path: directory,
                    description: "the socket's directory \(directory) cannot be opened: "
                        + String(cString: strerror(failure)))
        }
        defer { close(opened) }
        var status = stat()
        guard fstat(opened, &status) == 0 else {
            let failure = errno
            return Problem(
                kind: .directoryUnusable(errno: failure), path: directory,
                description: "the socket's directory \(directory) cannot be examined: "
                    + String(cString: strerror(failure)))
        }
        return judge(directory: directory, status, socketName: name, trustedOwner: daemonUser, side: .daemon)
    }

    // MARK: The rule

    /// Who is asking: the daemon about to bind, or a client about to connect.
    enum Side {
        case daemon, client

        /// How to move the socket away from the directory, said to this side.
        var elsewhere: String {
            switch self {
            case .daemon: "use --socket in a directory only you can write"
            case .client: "run accessd with --socket in a directory only its user can write"
            }
        }
    }

    /// The directory's rule, on what fstat said of the opened directory:
    /// owned by root or `trustedOwner`, writable by its owner only.
    static func judge(directory: String, _ status: stat, socketName: String, trustedOwner: UInt32, side: Side)
        -> Problem?
    {
        let owner = status.st_uid
        let mode = status.st_mode & 0o7777
        if owner != 0 && owner != trustedOwner {
            let whose =
                switch side {
                case .daemon: "accessd's user (uid \(trustedOwner))"
                case .client: "the socket's owner (uid \(trustedOwner))"
                }
            return Problem(
                kind: .directoryOwner(uid: owner), path: directory,
                description: "the socket's directory \(directory) is owned by uid \(owner), not by root or by \(whose), "
                    + "so that user could replace the socket with an impostor; "
                    + "chown \(trustedOwner) \(directory), or \(side.elsewhere)")
        }
        guard mode & 0o022 == 0 else {
            if mode & 0o1002 == 0o1002 {
                let own = (directory == "/" ? "" : directory) + "/accessd-\(trustedOwner)/" + socketName
                return Problem(
                    kind: .directoryWritable(mode: mode), path: directory,
                    description: "the socket's directory \(directory) is shared (mode \(octal(mode))): anyone may "
                        + "put a socket in it, so an impostor could be there first; \(side.elsewhere), "
                        + "such as \(own) (accessd creates it mode 0750)")
            }
            let who = mode & 0o020 == 0 ? "others" : mode & 0o002 == 0 ? "its group" : "its group and others"
            return Problem(
                kind: .directoryWritable(mode: mode), path: directory,
                description: "the socket's directory \(directory) is writable by \(who) (mode \(octal(mode))), "
                    + "so they could replace the socket with an impostor; chmod go-w \(directory) "
                    + "(accessd creates it mode 0750), or \(side.elsewhere)")
        }
        return nil
    }

    /// When the directory would not open: is a symbolic link in its place?
    static func symbolicLinkProblem(directory: String, side: Side) -> Problem? {
        var status = stat()
        guard lstat(directory, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return nil }
        let fix =
            switch side {
            case .daemon: "name the directory it points to in --socket, or use a directory only you can write"
            case .client: "connect through the directory it points to"
            }
        return Problem(
            kind: .directoryIsSymbolicLink, path: directory,
            description: "the socket's directory \(directory) is a symbolic link, "
                + "which whoever can change it could point elsewhere; \(fix)")
    }

    // MARK: Helpers

    /// O_PATH (Linux; not exported by Swift's Glibc module): opens a
    /// directory the caller may search but not read, to fstat it.
    private static let openPath: Int32 = 0o10000000
    /// The directory itself, never a symbolic link in its place.
    private static let openFlags = openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC

    /// The socket's directory ("." for a bare name, "/" at the root) and its name in it.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        return (directory, String(path[path.index(after: slash)...]))
    }

    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
