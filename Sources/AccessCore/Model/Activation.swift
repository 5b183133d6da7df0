/// The SHA-256 of an activation token, hex-encoded: all the state keeps of a token (R8).
public struct TokenHash: Hashable, Sendable, CustomStringConvertible {
    public let hex: String

    public init(hex: String) { self.hex = hex }

    /// The hash of a token as the user presents it.
    public init(token: String) { self.hex = Hex.encode(SHA256.hash(Array(token.utf8))) }

    public var description: String { hex }
}

/// An activation waiting for its user (R8, R9). One per PENDING user at most.
public struct PendingActivation: Hashable, Sendable {
    public var tokenHash: TokenHash
    public var user: UserID
    public var issuedAt: Timestamp
    public var expiresAt: Timestamp

    public init(
        tokenHash: TokenHash, user: UserID, issuedAt: Timestamp, expiresAt: Timestamp
    ) {
        self.tokenHash = tokenHash
        self.user = user
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}

/// Makes activation tokens from injected randomness.
enum ActivationToken {
    /// 256 random bits, hex-encoded (R8 asks for at least 128).
    static func make<R: RandomNumberGenerator>(using rng: inout R) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<4 {
            let word = rng.next()
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return Hex.encode(bytes)
    }
}
