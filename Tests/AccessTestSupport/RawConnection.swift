package import AccessWire
import Foundation
package import SwiftProtobuf

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking Unix-socket connection that writes and reads raw frames, so the
/// tests speak the wire exactly as a C or Python peer would.
extension Accessd_V1_Request {
    /// A request frame's body: call `id` of `method` with `payload`.
    package init(id: UInt64, method: String, payload: [UInt8] = [], actor: String = "", timeoutMs: UInt32 = 0) {
        self.init()
        self.id = id
        self.method = method
        self.payload = Data(payload)
        self.actor = actor
        self.timeoutMs = timeoutMs
    }

    /// The same with `message` serialized as the payload.
    package init(id: UInt64, method: String, _ message: some SwiftProtobuf.Message, actor: String = "") throws {
        self.init(id: id, method: method, payload: try message.serializedBytes(), actor: actor)
    }
}

package final class RawConnection {
    package let fd: Int32

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
        package init(description: String) { self.description = description }
    }

    /// Connects once the socket at `path` listens (a refused connect is retried for `timeout` seconds).
    package static func whenListening(path: String, timeout: Double = 5) throws -> RawConnection {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            do {
                return try RawConnection(path: path)
            } catch where Date() < deadline {
                usleep(10_000)
            }
        }
    }

    package init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)))
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "connect(\(path)) failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    package func writeBytes(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += written
        }
    }

    package func writeFrame(_ payload: [UInt8]) throws { try writeBytes(Self.frame(payload)) }

    /// `payload` behind its 4-byte big-endian length.
    package static func frame(_ payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)] + payload
    }

    /// The frames of `requests` in one buffer: written at once, the daemon reads them in one go.
    package static func frames(_ requests: [Accessd_V1_Request]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for request in requests {
            var frame = Accessd_V1_ClientFrame()
            frame.request = request
            bytes += Self.frame(try frame.serializedBytes())
        }
        return bytes
    }

    package func send(_ request: Accessd_V1_Request) throws {
        var frame = Accessd_V1_ClientFrame()
        frame.request = request
        try writeFrame(try frame.serializedBytes())
    }

    /// Reads exactly `count` bytes, or nil at end of stream; fails after `timeout` seconds.
    package func readBytes(_ count: Int, timeout: Double = 5) throws -> [UInt8]? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(count, 1))
        while out.count < count {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(timeout * 1000)) > 0 else { throw Failure(description: "timed out reading") }
            let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - out.count, 0) }
            if received == 0 { return nil }
            guard received > 0 else { throw Failure(description: "recv failed: errno \(errno)") }
            out += chunk[0..<received]
        }
        return out
    }

    /// The next ServerFrame, or nil when the daemon closed the connection.
    package func readFrame(timeout: Double = 5) throws -> Accessd_V1_ServerFrame? {
        guard let header = try readBytes(4, timeout: timeout) else { return nil }
        let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard let body = try readBytes(length, timeout: timeout) else { return nil }
        return try Accessd_V1_ServerFrame(serializedBytes: body)
    }

    package func readResponse(timeout: Double = 5) throws -> Accessd_V1_Response {
        guard let frame = try readFrame(timeout: timeout) else { throw Failure(description: "connection closed") }
        guard case .response(let response) = frame.kind else { throw Failure(description: "expected a response: \(frame)") }
        return response
    }

    /// Sends a request of a method of the catalogue and reads replies until the one with its id.
    package func call<Request, Response>(
        _ method: Method<Request, Response>, _ request: Request, id: UInt64, actor: String = "", timeoutMs: UInt32 = 0
    ) throws -> Accessd_V1_Response {
        try call(method.path, bytes: try request.serializedBytes(), id: id, actor: actor, timeoutMs: timeoutMs)
    }

    /// Sends a request for any path (an unknown method, say) and reads replies until the one with its id.
    package func call(
        _ path: String, _ payload: some SwiftProtobuf.Message, id: UInt64, actor: String = "", timeoutMs: UInt32 = 0
    ) throws -> Accessd_V1_Response {
        try call(path, bytes: try payload.serializedBytes(), id: id, actor: actor, timeoutMs: timeoutMs)
    }

    /// Sends a request with an encoded payload and reads replies until the one with its id.
    package func call(_ method: String, bytes: [UInt8], id: UInt64, actor: String = "", timeoutMs: UInt32 = 0) throws
        -> Accessd_V1_Response
    {
        try send(Accessd_V1_Request(id: id, method: method, payload: bytes, actor: actor, timeoutMs: timeoutMs))
        while true {
            let response = try readResponse()
            if response.id == id { return response }
        }
    }
}
