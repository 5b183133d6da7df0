// accessd-bench: a lean load generator for accessd (and, with --echo, for an echo
// server speaking the same framing). N connections on raw NIO channels spread
// over the machine's cores, D calls in flight on each, for a duration after a
// warm-up; requests written from pre-serialized bytes, replies read only as far
// as their id and code; latencies in an HdrHistogram. One RESULT line per run.
//
//   accessd-bench --socket PATH [--conns 32] [--depth 1] [--seconds 5] [--warmup 1]
//                 [--mix check|mixed|writes] [--setup users=100000,accounts=10000]
//                 [--ids FILE] [--save-ids FILE] [--echo] [--name NAME] [--threads N]
//                 [--write-frames FILE [--batch N]]
//   accessd-bench --serve-nio-echo --socket PATH [--threads N]
//
// --setup loads the data set first through the socket as an administrator (run
// it as root or an admin uid), --save-ids writes its (user account) pairs for
// later runs; --ids reads such lines instead (as `accessd-durability-bench
// state` leaves them too). The mixed mix is 90% Check,
// 10% SetLicenseCount (each connection writes its own account).
// --write-frames writes the Check requests it would send (each a 4-byte
// big-endian length and the `Request` bytes after its id) to FILE and stops:
// the frames of scripts/bench-load.c, the C generator that drives accessd,
// the echo server and Redis alike. With --batch N, each frame is one
// BatchCheck of N of those checks.

import AccessWire
import Foundation
import Histogram
import NIOCore
import NIOPosix
import SwiftProtobuf

enum Mix: String {
    case check, mixed, writes
}

struct Options {
    var socket = ""
    var connections = 32
    var depth = 1
    var seconds = 5.0
    var warmup = 1.0
    var mix = Mix.check
    var users = 1000
    var accounts = 100
    var ids: String?
    var saveIDs: String?
    var echo = false
    var name: String?
    var threads = System.coreCount
    var writeFrames: String?
    /// With --write-frames: checks per BatchCheck frame (0: Check frames).
    var batch = 0
    /// Serve an echo server on SwiftNIO instead (NIOEcho.swift).
    var serveNIOEcho = false

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            if flag == "--echo" {
                echo = true
                continue
            }
            if flag == "--serve-nio-echo" {
                serveNIOEcho = true
                continue
            }
            guard let value = iterator.next() else { Self.fail("\(flag) needs a value") }
            switch flag {
            case "--socket": socket = value
            case "--conns": connections = Self.number(flag, value)
            case "--depth": depth = Self.number(flag, value)
            case "--seconds": seconds = Self.decimal(flag, value)
            case "--warmup": warmup = Self.decimal(flag, value)
            case "--mix":
                guard let chosen = Mix(rawValue: value) else { Self.fail("--mix is check, mixed or writes") }
                mix = chosen
            case "--ids": ids = value
            case "--save-ids": saveIDs = value
            case "--name": name = value
            case "--threads": threads = Self.number(flag, value)
            case "--write-frames": writeFrames = value
            case "--batch": batch = Self.number(flag, value)
            case "--setup":
                for part in value.split(separator: ",") {
                    let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                    guard pair.count == 2 else { Self.fail("--setup takes users=N,accounts=M") }
                    switch pair[0] {
                    case "users": users = Self.number("users", pair[1])
                    case "accounts": accounts = Self.number("accounts", pair[1])
                    default: Self.fail("--setup takes users=N,accounts=M")
                    }
                }
            default: Self.fail("unknown flag \(flag)")
            }
        }
        if socket.isEmpty { Self.fail("--socket PATH is required") }
        if depth < 1 || depth > 0xFFFF || connections < 1 { Self.fail("--conns and --depth must be at least 1 (depth below 65536)") }
        if echo && mix != .check { Self.fail("--echo sends Check frames only") }
    }

    static func number(_ flag: String, _ value: String) -> Int {
        guard let number = Int(value.replacingOccurrences(of: "_", with: "")), number >= 0 else {
            fail("\(flag) needs a whole number")
        }
        return number
    }

    static func decimal(_ flag: String, _ value: String) -> Double {
        guard let number = Double(value), number >= 0 else { fail("\(flag) needs a number") }
        return number
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("accessd-bench: \(message)\n".utf8))
        exit(64)
    }
}

func progress(_ message: String) {
    FileHandle.standardError.write(Data("accessd-bench: \(message)\n".utf8))
}

func checkTemplates(_ pairs: [(String, String)]) throws -> [RequestTemplate] {
    let permissions: [Accessd_V1_Permission] = [.manageProjects, .viewBilling, .viewProjects, .editAccountSettings]
    return try pairs.prefix(100_000).enumerated().map { n, pair in
        var check = Accessd_V1_CheckRequest()
        check.user = pair.0
        check.accountID = pair.1
        check.permission = permissions[n % permissions.count]
        return try RequestTemplate(method: Methods.check.path, payload: check.serializedBytes())
    }
}

/// BatchChecks of `size` checks each, the checks of `checkTemplates` taken in turn.
func batchTemplates(_ pairs: [(String, String)], size: Int) throws -> [RequestTemplate] {
    let permissions: [Accessd_V1_Permission] = [.manageProjects, .viewBilling, .viewProjects, .editAccountSettings]
    let frames = max(1, min(4096, pairs.count / size))
    return try (0..<frames).map { frame in
        var batch = Accessd_V1_BatchCheckRequest()
        batch.checks = (0..<size).map { item in
            let n = (frame * size + item) % pairs.count
            var check = Accessd_V1_CheckRequest()
            check.user = pairs[n].0
            check.accountID = pairs[n].1
            check.permission = permissions[n % permissions.count]
            return check
        }
        return try RequestTemplate(method: Methods.batchCheck.path, payload: batch.serializedBytes())
    }
}

func writeTemplates(_ accounts: [String]) throws -> [[RequestTemplate]] {
    try accounts.map { account in
        try (2...3).map { count in
            var set = Accessd_V1_SetLicenseCountRequest()
            set.accountID = account
            set.count = UInt32(count)
            return try RequestTemplate(method: Methods.setLicenseCount.path, payload: set.serializedBytes())
        }
    }
}

let options = Options(CommandLine.arguments)
if options.serveNIOEcho { try await serveNIOEcho(socket: options.socket, threads: options.threads) }
let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

// The calls to send.
var pairs: [(String, String)]
var writers: [String] = []
if options.echo {
    pairs = (0..<1024).map { ("u_echo\($0)", "a_echo\($0 / 10)") }
    writers = ["a_echo"]
} else {
    if let ids = options.ids {
        pairs = try String(contentsOfFile: ids, encoding: .utf8).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            return fields.count == 2 ? (fields[0], fields[1]) : nil
        }
        if pairs.isEmpty { Options.fail("no (user account) lines in \(ids)") }
    } else {
        let began = ContinuousClock.now
        progress("loading \(options.users) users in \(options.accounts) accounts")
        let set = try await Setup.load(socket: options.socket, users: options.users, accounts: options.accounts, tag: tag)
        let elapsed = ContinuousClock.now - began
        let took = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(
            "RESULT name=setup users=\(set.checks.count) accounts=\(options.accounts) failed_calls=\(set.failures)"
                + " s=\(String(format: "%.1f", took)) calls_per_s=\(Int(Double(set.checks.count + options.accounts / 10 * 4) / took))")
        pairs = set.checks
        if let path = options.saveIDs {
            try pairs.map { "\($0.0) \($0.1)" }.joined(separator: "\n").write(toFile: path, atomically: false, encoding: .utf8)
        }
    }
    if options.mix != .check {
        writers = try await Setup.writerAccounts(socket: options.socket, count: options.connections, tag: tag)
    } else {
        writers = ["unused"]
    }
}
// Spread the checks over users rather than account by account.
var generator = SystemRandomNumberGenerator()
pairs.shuffle(using: &generator)
if let path = options.writeFrames {
    var bytes: [UInt8] = []
    let templates = options.batch > 0 ? try batchTemplates(pairs, size: options.batch) : try checkTemplates(pairs)
    for template in templates {
        let length = UInt32(template.rest.count)
        bytes += [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        bytes += template.rest
    }
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { Options.fail("cannot write \(path)") }
    print("RESULT name=frames requests=\(templates.count) bytes=\(bytes.count) file=\(path)")
    exit(0)
}
let plan = LoadPlan(
    reads: try checkTemplates(pairs), writes: try writeTemplates(writers), depth: options.depth,
    writeEvery: options.mix == .check ? 0 : options.mix == .writes ? 1 : 10)

// The connections, then the run.
let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.threads))
var channels: [(any Channel, EventLoopFuture<ConnectionResult>)] = []
for index in 0..<options.connections {
    let loop = group.next()
    let done = loop.makePromise(of: ConnectionResult.self)
    let channel = try await ClientBootstrap(group: loop)
        .channelOption(.maxMessagesPerRead, value: 16)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(LoadHandler(plan: plan, index: index, done: done))
            }
        }
        .connect(unixDomainSocketPath: options.socket)
        .get()
    channels.append((channel, done.futureResult))
}
let now = NIODeadline.now().uptimeNanoseconds
let window = StartLoad(
    measureFrom: now + UInt64(options.warmup * 1e9), measureUntil: now + UInt64((options.warmup + options.seconds) * 1e9))
for (channel, _) in channels { channel.pipeline.fireUserInboundEventTriggered(window) }
var total = ConnectionResult()
for (_, done) in channels { total.add(try await done.get()) }
try await group.shutdownGracefully()

var all = total.reads
all.add(total.writes)
let calls = Double(all.totalCount)
func fields(_ prefix: String, _ histogram: Histogram<UInt64>) -> String {
    " \(prefix)rps=\(Int(Double(histogram.totalCount) / options.seconds)) \(prefix)p50_us=\(histogram.valueAtPercentile(50))"
        + " \(prefix)p99_us=\(histogram.valueAtPercentile(99)) \(prefix)p999_us=\(histogram.valueAtPercentile(99.9))"
        + " \(prefix)max_us=\(histogram.max)"
}
var line = "RESULT name=\(options.name ?? (options.echo ? "echo" : options.mix.rawValue)) conns=\(options.connections)"
line += " depth=\(options.depth)" + fields("", all) + " calls=\(Int(calls)) errors=\(total.errors)"
if total.unmatched > 0 { line += " unmatched=\(total.unmatched)" }
if options.mix == .mixed { line += fields("read_", total.reads) + fields("write_", total.writes) }
print(line)
