import AccessMapping
import AccessCore
import Foundation
import Testing

@testable import AccessServer

/// One `rpc Name(Request) returns (...)` of a `service` in the protos.
struct ProtoMethod: Hashable, CustomStringConvertible {
    var service: String
    var method: String
    var request: String
    var streams: Bool

    var path: String { MethodTable.path(service: service, method: method) }
    var description: String { path }
}

enum ProtoFiles {
    /// The repository root, from this file's path (Tests/AccessServerTests/<file>).
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Every rpc of every service in proto/accessd/v1/*.proto.
    static func methods() throws -> [ProtoMethod] {
        let directory = root.appendingPathComponent("proto/accessd/v1")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".proto") }.sorted()
        var methods: [ProtoMethod] = []
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            var service: String?
            var depth = 0
            for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let line = String(rawLine.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                    .trimmingCharacters(in: .whitespaces)
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "{" }).map(String.init)
                if depth == 0, words.first == "service", words.count >= 2 { service = words[1] }
                if let service, depth == 1, line.hasPrefix("rpc ") {
                    // rpc Name(Request) returns (stream Reply);
                    let afterRPC = line.dropFirst(4)
                    let name = afterRPC.prefix { $0 != "(" && $0 != " " }
                    let open = try #require(line.firstIndex(of: "("))
                    let close = try #require(line.firstIndex(of: ")"))
                    let request = line[line.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
                    let returns = line[close...]
                    methods.append(
                        ProtoMethod(
                            service: service, method: String(name), request: request,
                            streams: returns.contains("(stream ")))
                }
                depth += line.filter { $0 == "{" }.count - line.filter { $0 == "}" }.count
                if depth == 0 { service = nil }
            }
        }
        return methods
    }
}

@Suite("Method table: one handler per rpc of the protos")
struct MethodTableTests {
    @Test("the protos are found and parsed")
    func protosParse() throws {
        let methods = try ProtoFiles.methods()
        #expect(Set(methods.map(\.service)).count == 12, "\(Set(methods.map(\.service)).sorted())")
        #expect(methods.contains(ProtoMethod(service: "UserService", method: "AddUser", request: "AddUserRequest", streams: false)))
        #expect(Set(methods.filter(\.streams).map(\.method)) == ["FollowEvents", "Backup"])
        #expect(Set(methods.map(\.path)).count == methods.count, "an rpc is declared twice")
    }

    @Test("every rpc has a handler, and every handler an rpc")
    func everyRPCHasAHandler() throws {
        let paths = Set(try ProtoFiles.methods().map(\.path))
        let handled = Set(MethodTable.handlers.keys)
        #expect(paths.subtracting(handled).isEmpty, "rpcs without a handler: \(paths.subtracting(handled).sorted())")
        #expect(handled.subtracting(paths).isEmpty, "handlers without an rpc: \(handled.subtracting(paths).sorted())")
    }

    @Test("streams and calls about the daemon are the daemon's; everything else is a read or a write")
    func daemonMethods() throws {
        var daemon: Set<String> = []
        for (path, handler) in MethodTable.handlers { if case .daemon = handler { daemon.insert(path) } }
        #expect(
            daemon == [
                "/accessd.v1.EventService/FollowEvents", "/accessd.v1.AdminService/Snapshot", "/accessd.v1.AdminService/GetStats",
                "/accessd.v1.AdminService/Backup",
                "/accessd.v1.AdminService/GetMetrics", "/accessd.v1.HealthService/Check",
            ])
        for method in try ProtoFiles.methods() where method.streams {
            #expect(daemon.contains(method.path), "\(method) streams, so the daemon serves it")
        }
    }

    @Test("every read and write refuses a payload that does not decode, naming its request type")
    func undecodablePayloads() throws {
        let garbage = Data([0xFF])
        let state = AccessState()
        for method in try ProtoFiles.methods() {
            let expected = AccessError(.invalidArgument, "the payload does not decode as accessd.v1.\(method.request)")
            switch MethodTable.handlers[method.path] {
            case .read(let read)?:
                #expect(throws: expected, "\(method)") {
                    try read(garbage, ReadContext(state: state, history: EventHistory(), principal: .administrator))
                }
            case .write(let command, _)?:
                #expect(throws: expected, "\(method)") { try command(garbage, state) }
            case .daemon?, nil:
                continue
            }
        }
    }

    @Test("paths are /accessd.v1.Service/Method")
    func pathShape() {
        #expect(MethodTable.path(service: "UserService", method: "AddUser") == "/accessd.v1.UserService/AddUser")
        for path in MethodTable.handlers.keys {
            #expect(path.hasPrefix("/accessd.v1.") && path.split(separator: "/").count == 2, "\(path)")
        }
    }
}
