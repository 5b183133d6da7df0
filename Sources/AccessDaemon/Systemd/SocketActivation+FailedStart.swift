import AccessStore
public import AccessStatus
import AccessCore
import AccessWire

#if canImport(Glibc)
    import Glibc
#endif

extension SocketActivation {
    /// Answers every connection already waiting on the listening socket with
    /// one id-0 error frame (`code`, `message`) and closes it, without
    /// blocking. A start that fails under socket activation does this before
    /// it exits: the waiting clients hear why instead of waiting, and systemd,
    /// which starts the service again whenever the socket has connections
    /// queued, does not do so for these ones (a failing start would be
    /// repeated at once until `start-limit-hit`, which also fails
    /// accessd.socket and so stops it listening). The next connection starts
    /// the service once more.
    /// - Returns: how many connections were answered (at most `limit`).
    @discardableResult
    public static func answerWaitingConnections(
        on listener: ActivatedSocket, code: StatusCode, message: String, limit: Int = 4096
    ) -> Int {
        let flags = fcntl(listener.descriptor, F_GETFL)
        guard flags >= 0, fcntl(listener.descriptor, F_SETFL, flags | O_NONBLOCK) == 0 else { return 0 }
        var response = Accessd_V1_Response()
        response.code = UInt32(code.rawValue)
        response.message = message
        var frame = Accessd_V1_ServerFrame()
        frame.response = response
        let payload: [UInt8] = (try? frame.serializedBytes()) ?? []
        let length = UInt32(payload.count).bigEndian
        let bytes = withUnsafeBytes(of: length) { Array($0) } + payload
        var answered = 0
        var scratch = [UInt8](repeating: 0, count: 4096)
        while answered < limit {
            let peer = accept(listener.descriptor, nil, nil)
            if peer < 0 {
                if errno == EINTR { continue }
                break  // EAGAIN: none left
            }
            _ = fcntl(peer, F_SETFD, FD_CLOEXEC)
            // What the peer already sent is read first: closing a Unix socket with unread
            // data resets the connection, and the peer might not read the answer.
            while scratch.withUnsafeMutableBytes({ recv(peer, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
            _ = bytes.withUnsafeBytes { send(peer, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            shutdown(peer, Int32(SHUT_WR))
            close(peer)
            answered += 1
        }
        return answered
    }
}
