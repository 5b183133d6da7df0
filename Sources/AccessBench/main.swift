// accessd-bench: Check calls against a running accessd over N connections with
// D calls in flight each, for a duration; prints one RESULT line.
//
// Usage: accessd-bench --socket PATH [--conns 32] [--depth 1] [--seconds 5] [--users 100]
// Loads its own data first (as an administrator: run it as root or an admin uid).

import AccessClient
import AccessWire
import Foundation
import SwiftProtobuf

struct Options {
    var socket = ""
    var connections = 32
    var depth = 1
    var seconds = 5.0
    var users = 100

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { fatalError("\(flag) needs a value") }
            switch flag {
            case "--socket": socket = value
            case "--conns": connections = Int(value)!
            case "--depth": depth = Int(value)!
            case "--seconds": seconds = Double(value)!
            case "--users": users = Int(value)!
            default: fatalError("unknown flag \(flag)")
            }
        }
        precondition(!socket.isEmpty, "--socket PATH is required")
    }
}

let options = Options(CommandLine.arguments)
let setup = try await AccessClient.connect(socketPath: options.socket)
var create = Accessd_V1_CreateAccountRequest()
create.name = "Bench \(UInt32.random(in: 0...UInt32.max))"
create.fullAccessLicenses = UInt32(options.users + 1)
create.ownerEmail = "owner-\(create.name.split(separator: " ").last!)@bench.example"
create.ownerFirstName = "Bench"
create.ownerLastName = "Owner"
let account = try await setup.call(
    "/accessd.v1.AdminService/CreateAccount", create, as: Accessd_V1_CreateAccountResponse.self)
var userIDs: [String] = [account.owner.id]
for n in 0..<options.users {
    var add = Accessd_V1_AddUserRequest()
    add.accountID = account.account.id
    add.email = "u\(n)-\(account.account.id)@bench.example"
    add.firstName = "U"
    add.lastName = "\(n)"
    add.role = n.isMultiple(of: 2) ? "Member" : "Viewer"
    userIDs.append(try await setup.call("/accessd.v1.UserService/AddUser", add, as: Accessd_V1_UserResponse.self, actor: account.owner.id).user.id)
}
await setup.close()

let payloads: [[UInt8]] = try userIDs.map { user in
    var check = Accessd_V1_CheckRequest()
    check.user = user
    check.accountID = account.account.id
    check.permission = .manageProjects
    return try check.serializedBytes()
}

let clients = try await withThrowingTaskGroup(of: AccessClient.self) { group in
    for _ in 0..<options.connections { group.addTask { try await AccessClient.connect(socketPath: options.socket) } }
    var all: [AccessClient] = []
    for try await client in group { all.append(client) }
    return all
}
let start = ContinuousClock.now
let end = start + .milliseconds(Int64(options.seconds * 1000))
let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
    for (index, client) in clients.enumerated() {
        for lane in 0..<options.depth {
            group.addTask {
                var samples: [Double] = []
                var n = index &* 31 &+ lane
                while ContinuousClock.now < end {
                    let began = ContinuousClock.now
                    _ = try await client.call("/accessd.v1.AccessService/Check", payload: payloads[n % payloads.count])
                    let elapsed = ContinuousClock.now - began
                    samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
                    n &+= 1
                }
                return samples
            }
        }
    }
    var all: [Double] = []
    for try await samples in group { all += samples }
    return all
}
let elapsed = ContinuousClock.now - start
for client in clients { await client.close() }
let sorted = latencies.sorted()
func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(
    "RESULT name=check conns=\(options.connections) depth=\(options.depth) rps=\(Int(Double(sorted.count) / seconds))"
        + " p50_us=\(Int(percentile(0.5))) p99_us=\(Int(percentile(0.99))) p999_us=\(Int(percentile(0.999)))"
        + " max_us=\(Int(sorted.last ?? 0)) calls=\(sorted.count)")
