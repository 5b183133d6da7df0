import AccessPaths
import AccessTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `SocketTrust`, the rule the daemon, AccessClient, accessctl, the C client
/// and the Python peer share (README, "Where things are"), on real
/// directories and sockets. The owners are set with chown, so most tests need root.
@Suite(.serialized, .enabled(if: getuid() == 0, "chown needs root")) struct SocketTrustTests {
    /// A fresh directory of `mode` and `owner` holding a listening socket of `socketOwner`.
    struct Place {
        let root: String
        let directory: String
        let socket: ListeningSocket

        var path: String { socket.path }
    }

    func place(mode: mode_t, owner: uid_t = 0, socketOwner: uid_t = 0) throws -> Place {
        let root = SystemdTestSupport.temporaryDirectory("trust")
        let directory = root + "/run"
        #expect(mkdir(directory, 0o700) == 0)
        let socket = try ListeningSocket(path: directory + "/accessd.sock")
        #expect(chown(socket.path, socketOwner, socketOwner) == 0)
        #expect(chown(directory, owner, owner) == 0)
        #expect(chmod(directory, mode) == 0)
        return Place(root: root, directory: directory, socket: socket)
    }

    func remove(_ place: Place) {
        try? FileManager.default.removeItem(atPath: place.root)
    }

    // MARK: The client's rule

    @Test func theSystemdSocketRootOwnedInARootOwnedDirectoryIsTrustedByEveryUser() throws {
        // /run/accessd.sock: root:accessd 0660 in /run (root, 0755).
        let place = try place(mode: 0o755)
        defer { remove(place) }
        #expect(SocketTrust.check(socketPath: place.path, user: 0) == nil)
        #expect(SocketTrust.check(socketPath: place.path, user: 65534) == nil)
    }

    @Test func aUsersOwnDaemonInTheirOwnRuntimeDirectoryIsTrustedByThatUserOnly() throws {
        // $XDG_RUNTIME_DIR/accessd/accessd.sock of a by-hand daemon run by uid 65534.
        let place = try place(mode: 0o700, owner: 65534, socketOwner: 65534)
        defer { remove(place) }
        #expect(SocketTrust.check(socketPath: place.path, user: 65534) == nil)
        // Root trusts no socket another user owns: it may be that user's impostor.
        #expect(SocketTrust.check(socketPath: place.path, user: 0)?.kind == .socketOwner(uid: 65534))
    }

    @Test func aSocketAnotherUserOwnsIsNotTrustedWhateverItsDirectory() throws {
        // Another user made /tmp/accessd-0 before the daemon did, and bound an impostor in it.
        let place = try place(mode: 0o755, owner: 65534, socketOwner: 65534)
        defer { remove(place) }
        let problem = try #require(SocketTrust.check(socketPath: place.path, user: 0))
        #expect(problem.kind == .socketOwner(uid: 65534))
        #expect(
            problem.description.hasPrefix("\(place.path) belongs to uid 65534, not to root or to you (uid 0)"),
            "\(problem)")
    }

    @Test(arguments: [0o777, 0o775, 0o770, 0o757, 0o730, 0o1777, 0o1770])
    func aDirectoryWritableByOthersThanItsOwnerIsNotTrusted(mode: Int) throws {
        let place = try place(mode: mode_t(mode))
        defer { remove(place) }
        let problem = try #require(SocketTrust.check(socketPath: place.path, user: 0))
        #expect(problem.kind == .directoryWritable(mode: UInt32(mode)))
        #expect(problem.path == place.directory)
        let fix = mode & 0o1002 == 0o1002 ? "such as \(place.directory)/accessd-0/accessd.sock" : "chmod go-w \(place.directory)"
        #expect(problem.description.contains(fix), "\(problem)")
    }

    @Test func aDirectoryOwnedByAnotherUserThanRootOrTheSocketsOwnerIsNotTrusted() throws {
        let place = try place(mode: 0o755, owner: 65534, socketOwner: 0)
        defer { remove(place) }
        let problem = try #require(SocketTrust.check(socketPath: place.path, user: 0))
        #expect(problem.kind == .directoryOwner(uid: 65534))
        #expect(problem.description.contains("chown 0 \(place.directory)"), "\(problem)")
    }

    @Test func aSymbolicLinkInPlaceOfTheDirectoryOrTheSocketIsNotFollowed() throws {
        let place = try place(mode: 0o755)
        defer { remove(place) }
        #expect(symlink(place.directory, place.root + "/link") == 0)
        #expect(symlink(place.path, place.root + "/linked.sock") == 0)
        #expect(SocketTrust.check(socketPath: place.root + "/link/accessd.sock")?.kind == .directoryIsSymbolicLink)
        #expect(SocketTrust.check(socketPath: place.root + "/linked.sock")?.kind == .socketIsSymbolicLink)
        #expect(
            SocketTrust.checkDirectory(ofDaemonSocket: place.root + "/link/accessd.sock")?.kind == .directoryIsSymbolicLink)
    }

    @Test func noSocketThereIsLeftToConnectToReport() throws {
        let place = try place(mode: 0o777)
        defer { remove(place) }
        #expect(SocketTrust.check(socketPath: place.directory + "/missing.sock") == nil)
        #expect(SocketTrust.check(socketPath: place.root + "/missing/accessd.sock") == nil)
    }

    // MARK: The daemon's rule

    @Test func theDaemonTrustsADirectoryOfRootOrItsOwnUserThatOnlyItsOwnerCanWrite() throws {
        let place = try place(mode: 0o750, owner: 65534)
        defer { remove(place) }
        #expect(SocketTrust.checkDirectory(ofDaemonSocket: place.path, daemonUser: 65534) == nil)
        let problem = SocketTrust.checkDirectory(ofDaemonSocket: place.path, daemonUser: 0)
        #expect(problem?.kind == .directoryOwner(uid: 65534))
        #expect(problem?.description.contains("not by root or by accessd's user (uid 0)") == true, "\(String(describing: problem))")
        #expect(chown(place.directory, 0, 0) == 0)
        #expect(SocketTrust.checkDirectory(ofDaemonSocket: place.path, daemonUser: 65534) == nil)
        #expect(chmod(place.directory, 0o1777) == 0)
        #expect(SocketTrust.checkDirectory(ofDaemonSocket: place.path, daemonUser: 0)?.kind == .directoryWritable(mode: 0o1777))
    }
}
