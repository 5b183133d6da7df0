#if canImport(Glibc)
    import Glibc
#endif
import AccessStore
import NIOCore

/// The peer's uid, gid, pid and supplementary groups, read from the socket
/// (SO_PEERCRED and SO_PEERGROUPS: what the kernel recorded when the peer
/// connected, not what it claims; docs/protocol.md, "Who is calling").
public struct PeerCredentials: Hashable, Sendable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups (a service added to a group with `usermod -aG`).
    public var groups: [UInt32]

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    public var description: String { "uid=\(uid) gid=\(gid) pid=\(pid)" }

    /// `struct ucred` of <sys/socket.h>, mirrored (Glibc hides it behind _GNU_SOURCE).
    private struct UCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// Room for the supplementary groups SO_PEERGROUPS returns: 4,096 gids
    /// (16 KiB). A peer in more groups is judged by its uid and primary gid.
    private typealias Gids16 = (
        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32
    )
    private typealias Gids256 = (
        Gids16, Gids16, Gids16, Gids16, Gids16, Gids16, Gids16, Gids16,
        Gids16, Gids16, Gids16, Gids16, Gids16, Gids16, Gids16, Gids16
    )
    private typealias Gids4096 = (
        Gids256, Gids256, Gids256, Gids256, Gids256, Gids256, Gids256, Gids256,
        Gids256, Gids256, Gids256, Gids256, Gids256, Gids256, Gids256, Gids256
    )

    /// Reads the credentials of a connected Unix socket channel (nil where the platform has none).
    static func read(from channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        #if canImport(Glibc)
            guard let provider = channel as? any SocketOptionProvider else {
                return channel.eventLoop.makeSucceededFuture(nil)
            }
            let level = NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET)
            let credentials: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
                level: level, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
            return credentials.flatMap { credentials in
                supplementaryGroups(provider, level: level).map { groups in
                    PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid, groups: groups)
                }
            }.map { Optional($0) }.recover { _ in nil }
        #else
            return channel.eventLoop.makeSucceededFuture(nil)
        #endif
    }

    #if canImport(Glibc)
        /// SO_PEERGROUPS (Linux 4.13). NIO's getsockopt zero-fills and does
        /// not return the length, so: a 1-byte buffer succeeds only when the
        /// peer has no supplementary group; otherwise the kernel copies its
        /// groups in ascending order (it keeps them sorted), so after the
        /// first entry a zero is padding, not gid 0. On any failure, no
        /// supplementary group is counted.
        private static func supplementaryGroups(_ provider: any SocketOptionProvider, level: NIOBSDSocket.OptionLevel)
            -> EventLoopFuture<[UInt32]>
        {
            let name = NIOBSDSocket.Option(rawValue: SO_PEERGROUPS)
            let none: EventLoopFuture<UInt8> = provider.unsafeGetSocketOption(level: level, name: name)
            return none.map { _ in [UInt32]() }.flatMapError { _ in
                let all: EventLoopFuture<Gids4096> = provider.unsafeGetSocketOption(level: level, name: name)
                return all.map { gids in
                    withUnsafeBytes(of: gids) { raw in
                        let list = raw.bindMemory(to: UInt32.self)
                        var groups: [UInt32] = []
                        for (index, gid) in list.enumerated() {
                            if gid == 0 && index > 0 { break }
                            groups.append(gid)
                        }
                        return groups
                    }
                }.recover { _ in [] }
            }
        }
    #endif
}
