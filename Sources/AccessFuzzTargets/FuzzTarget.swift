/// The fuzz targets of `scripts/fuzz.sh`: each takes arbitrary bytes, runs
/// them through one part of accessd, and checks what must hold for any input.
/// A broken check throws `Violation`; the libFuzzer binary turns that into a
/// crash, the replay test into a failure. A crash of the code under test is a
/// crash in both.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `FrameDecoder` over a byte stream split at arbitrary points, then every
    /// frame through the fast readers (`ClientFrameHead`, `CheckFastPath`) and
    /// swift-protobuf: whatever the fast path reads, swift-protobuf reads the same.
    case frame
    /// Calls of the method table against a fixed state, as an administrator,
    /// a user or no one: reads answer, writes go through decide and apply, a
    /// refused call changes nothing, events replay to the same state.
    case methods
    /// `JournalFormat.scan` of a segment and recovery (`StateDirectory.recover`) replaying it.
    case journal
    /// Snapshot files loaded by recovery; one that loads writes and loads back to the same state.
    case snapshot
    /// The config file: `ConfigFile(text:path:)` and `apply(to:)`.
    case config

    /// Runs one input.
    public func run(_ bytes: [UInt8]) throws(Violation) {
        switch self {
        case .frame: try FrameFuzz.run(bytes)
        case .methods: try MethodsFuzz.run(bytes)
        case .journal: try JournalFuzz.run(bytes)
        case .snapshot: try SnapshotFuzz.run(bytes)
        case .config: try ConfigFuzz.run(bytes)
        }
    }

    /// Runs one input given as raw memory (libFuzzer's `LLVMFuzzerTestOneInput`).
    public func run(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        try run(Array(bytes))
    }
}

/// A check that failed: what was expected, and what happened instead.
public struct Violation: Error, CustomStringConvertible, Sendable {
    public var description: String

    init(_ description: String) { self.description = description }
}

/// Throws a `Violation` unless `condition` holds.
func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(Violation) {
    if !condition { throw Violation(message()) }
}

/// Reads an input from the front: the targets take their choices (a method,
/// an actor, a length) from its first bytes and the rest as data.
struct InputReader {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    var isAtEnd: Bool { bytes.isEmpty }
    var remaining: Int { bytes.count }

    /// The next byte, 0 once the input is used up.
    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    /// A big-endian UInt16 (0 past the end).
    mutating func uint16() -> Int { Int(byte()) << 8 | Int(byte()) }

    /// Up to `count` bytes.
    mutating func take(_ count: Int) -> [UInt8] {
        let taken = Array(bytes.prefix(count))
        bytes = bytes.dropFirst(count)
        return taken
    }

    /// Everything left.
    mutating func rest() -> [UInt8] { take(bytes.count) }
}

/// A deterministic generator (SplitMix64): the same input always runs the same way.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
