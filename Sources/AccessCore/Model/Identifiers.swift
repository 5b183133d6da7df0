/// An opaque id assigned by the core: a readable prefix (`usr_`) and the
/// base-36 sequence number of the event that created the thing.
///
/// Event sequence numbers are gapless and never reused, and every event creates
/// at most one thing, so an id is never reused either, and replaying a history
/// yields the same ids.
public protocol EntityID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The readable prefix, for example `usr_`.
    static var prefix: String { get }
    /// What kind of thing, for messages ("user").
    static var noun: String { get }
    var rawValue: String { get }
    init(uncheckedRawValue: String)
}

extension EntityID {
    /// Parses an id given by a caller; nil when it is not of this kind.
    /// Inlinable, so that each kind's parse is specialized where it is called
    /// (Check's hot path parses two ids per call); bytes compared, not characters.
    @inlinable
    public init?(_ text: String) {
        guard Self.isWellFormed(text.utf8) else { return nil }
        self.init(uncheckedRawValue: text)
    }

    /// Parses an id given as UTF-8 bytes (the Check lane reads them from
    /// the frame), by the same rule as `init?(_: String)`.
    @inlinable
    public init?(utf8 bytes: UnsafeRawBufferPointer) {
        guard Self.isWellFormed(bytes) else { return nil }
        self.init(uncheckedRawValue: String(decoding: bytes, as: UTF8.self))
    }

    /// The rule of an id: this kind's prefix, then up to 36 digits and lowercase letters.
    @inlinable
    public static func isWellFormed<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        let prefix = Self.prefix.utf8
        guard bytes.count > prefix.count, bytes.count <= 40 else { return false }
        var index = bytes.startIndex
        for expected in prefix {
            guard bytes[index] == expected else { return false }
            bytes.formIndex(after: &index)
        }
        while index != bytes.endIndex {
            let byte = bytes[index]
            guard (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 122) else { return false }
            bytes.formIndex(after: &index)
        }
        return true
    }

    /// The id minted by the event with this sequence number.
    init(sequence: UInt64) {
        self.init(uncheckedRawValue: Self.prefix + String(sequence, radix: 36))
    }

    /// Ids of one kind order by the sequence that minted them (shorter first).
    public static func < (lhs: Self, rhs: Self) -> Bool {
        let (l, r) = (lhs.rawValue.utf8.count, rhs.rawValue.utf8.count)
        return l != r ? l < r : lhs.rawValue < rhs.rawValue
    }

    public var description: String { rawValue }
}

public struct AccountID: EntityID {
    public static var prefix: String { "acc_" }
    public static var noun: String { "account" }
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

public struct UserID: EntityID {
    public static var prefix: String { "usr_" }
    public static var noun: String { "user" }
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

public struct RoleID: EntityID {
    public static var prefix: String { "rol_" }
    public static var noun: String { "role" }
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

public struct OfficeID: EntityID {
    public static var prefix: String { "off_" }
    public static var noun: String { "office" }
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

public struct ProjectID: EntityID {
    public static var prefix: String { "prj_" }
    public static var noun: String { "project" }
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

public struct ProductID: EntityID {
    public static var prefix: String { "prd_" }
    public static var noun: String { "product" }
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

public struct ShareID: EntityID {
    public static var prefix: String { "shr_" }
    public static var noun: String { "share" }
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}

/// An outbox message (R20).
public struct OutboxMessageID: EntityID {
    public static var prefix: String { "msg_" }
    public static var noun: String { "outbox message" }
    public let rawValue: String
    public init(uncheckedRawValue: String) { rawValue = uncheckedRawValue }
}
