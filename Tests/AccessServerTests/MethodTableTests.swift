import AccessMapping
import AccessCore
import AccessTestSupport
import AccessWire
import Foundation
import SwiftProtobuf
import Testing

@testable import AccessServer

/// One `rpc` of a `service` in the protos, as their descriptors (generated
/// with the code from `proto/`, held to the protos by ProtoDigestTests) say it.
struct ProtoMethod: Hashable, CustomStringConvertible {
    var service: String
    var method: String
    /// Full names: "accessd.v1.AddUserRequest".
    var request: String
    var response: String
    var streams: Bool

    var path: String { "/accessd.v1.\(service)/\(method)" }
    var description: String { path }

    /// Every rpc of every service in proto/accessd/v1, in the files' order.
    static func all() throws -> [ProtoMethod] {
        let set = try Google_Protobuf_FileDescriptorSet(
            serializedBytes: try #require(Data(base64Encoded: WireDescriptors.fileDescriptorSetBase64)))
        var methods: [ProtoMethod] = []
        for file in set.file {
            for service in file.service {
                for rpc in service.method {
                    methods.append(
                        ProtoMethod(
                            service: service.name, method: rpc.name, request: String(rpc.inputType.drop { $0 == "." }),
                            response: String(rpc.outputType.drop { $0 == "." }), streams: rpc.serverStreaming))
                }
            }
        }
        return methods
    }
}

@Suite("Method catalogue: one entry per rpc of the protos, one handler per entry")
struct MethodTableTests {
    @Test("the descriptors hold every service and rpc of the protos")
    func descriptorsParse() throws {
        let methods = try ProtoMethod.all()
        #expect(Set(methods.map(\.service)).count == 12, "\(Set(methods.map(\.service)).sorted())")
        #expect(
            methods.contains(
                ProtoMethod(
                    service: "UserService", method: "AddUser", request: "accessd.v1.AddUserRequest",
                    response: "accessd.v1.UserResponse", streams: false)))
        #expect(Set(methods.filter(\.streams).map(\.method)) == ["FollowEvents", "Backup"])
        #expect(Set(methods.map(\.path)).count == methods.count, "an rpc is declared twice")
    }

    @Test("the catalogue is the protos: every rpc once, with its request and response types and whether it streams")
    func catalogueIsTheProtos() throws {
        let protos = try ProtoMethod.all()
        let catalogue = Methods.all.map {
            ProtoMethod(
                service: $0.service, method: $0.name, request: $0.requestType, response: $0.responseType,
                streams: $0.kind == .stream)
        }
        #expect(Set(catalogue).subtracting(protos).isEmpty, "not in the protos: \(Set(catalogue).subtracting(protos))")
        #expect(Set(protos).subtracting(catalogue).isEmpty, "not in the catalogue: \(Set(protos).subtracting(catalogue))")
        #expect(catalogue.count == protos.count, "an entry is listed twice in Methods.all")
        #expect(Methods.byPath.count == protos.count)
        for method in Methods.all {
            #expect(method.path == "/accessd.v1.\(method.service)/\(method.name)")
        }
    }

    @Test("every entry of the catalogue has a handler, and every handler an entry")
    func everyMethodHasAHandler() throws {
        let paths = Set(Methods.all.map(\.path))
        let handled = Set(MethodTable.handlers.keys)
        #expect(paths.subtracting(handled).isEmpty, "methods without a handler: \(paths.subtracting(handled).sorted())")
        #expect(handled.subtracting(paths).isEmpty, "handlers without a method: \(handled.subtracting(paths).sorted())")
        for (path, entry) in MethodTable.entries {
            #expect(entry.method == Methods.byPath[path], "\(path) is registered under its own catalogue entry")
        }
    }

    @Test("a handler runs as its entry says: reads as reads, writes through the owner, streams by the daemon")
    func handlersMatchTheirKind() throws {
        for (path, entry) in MethodTable.entries {
            switch (entry.method.kind, entry.handler) {
            case (.read, .read), (.write, .write), (.stream, .daemon), (.read, .daemon):
                break
            default:
                Issue.record("\(path) is a \(entry.method.kind) served as \(entry.handler)")
            }
        }
        var daemon: [String: DaemonCall] = [:]
        for (path, handler) in MethodTable.handlers { if case .daemon(let call) = handler { daemon[path] = call } }
        #expect(
            daemon == [
                Methods.followEvents.path: .followEvents, Methods.snapshot.path: .snapshot, Methods.getStats.path: .stats,
                Methods.backup.path: .backup, Methods.getMetrics.path: .metrics, Methods.healthCheck.path: .health,
            ])
        #expect(MethodTable.entries.values.filter { if case .read(_, .checkFastPath) = $0.handler { true } else { false } }
            .map(\.method) == [Methods.check.erased], "the Check fast path hangs off Check's entry alone")
        #expect(MethodTable.entries.values.filter { if case .read(_, .eventHistoryOnDisk) = $0.handler { true } else { false } }
            .map(\.method) == [Methods.listEvents.erased])
    }

    @Test("who may call: read-only peers every read and stream, administrators alone the daemon's own calls and R1, R3, R20's")
    func audiences() {
        let administrators = Set(Methods.all.filter { $0.audience == .administrators }.map(\.name))
        #expect(
            administrators == [
                "CreateAccount", "SetLicenseCount", "Snapshot", "GetStats", "Backup", "GetMetrics", "ListOutbox",
                "AcknowledgeOutbox",
            ])
        for method in Methods.all {
            if method.kind == .write { #expect(!method.openToReadOnlyPeers, "\(method): read-only peers make no writes") }
        }
        #expect(Methods.healthCheck.erased.openToReadOnlyPeers && Methods.followEvents.erased.openToReadOnlyPeers)
    }

    @Test("the administrators' domain calls refuse any other principal in the core (PERMISSION_DENIED, naming the rule)")
    func administratorsDomainCallsAreTheCores() throws {
        var h = TableHarness()
        let create = make(Accessd_V1_CreateAccountRequest.self) {
            $0.name = "Acme"
            $0.fullAccessLicenses = 1
            $0.ownerEmail = "ann@acme.example"
            $0.ownerFirstName = "Ann"
            $0.ownerLastName = "Owner"
        }
        let acme = try h.call(Methods.createAccount, create).account.id
        let owner = "ann@acme.example"
        var refused: [String: AccessError?] = [:]
        refused[Methods.createAccount.name] = h.failure(Methods.createAccount, create, as: owner)
        refused[Methods.setLicenseCount.name] = h.failure(
            Methods.setLicenseCount,
            make(Accessd_V1_SetLicenseCountRequest.self) {
                $0.accountID = acme
                $0.count = 9
            }, as: owner)
        refused[Methods.listOutbox.name] = h.failure(Methods.listOutbox, Accessd_V1_ListOutboxRequest(), as: owner)
        refused[Methods.acknowledgeOutbox.name] = h.failure(
            Methods.acknowledgeOutbox, Accessd_V1_AcknowledgeOutboxRequest(), as: owner)
        let domain = Methods.all.filter { method in
            guard method.audience == .administrators, let handler = MethodTable.handlers[method.path] else { return false }
            return !handler.isDaemon
        }
        #expect(Set(refused.keys) == Set(domain.map(\.name)), "every administrators' domain call is tried")
        for (method, error) in refused {
            #expect(error?.code == .permissionDenied, "\(method): \(String(describing: error))")
            #expect(error?.rule != nil, "\(method) names its rule")
        }
    }

    @Test("every read and write refuses a payload that does not decode, naming its request type")
    func undecodablePayloads() throws {
        let garbage = Data([0xFF])
        let state = AccessState()
        for method in Methods.all {
            let expected = AccessError(.invalidArgument, "the payload does not decode as \(method.requestType)")
            switch MethodTable.handlers[method.path] {
            case .read(let read, _)?:
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
}

extension MethodHandler {
    var isDaemon: Bool {
        if case .daemon = self { return true }
        return false
    }
}
