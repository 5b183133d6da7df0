import AccessStore
/// A token bucket: `rate` tokens a second, at most `burst` held. The clock is
/// passed in (nanoseconds of a monotonic clock), so the bucket is plain data.
struct TokenBucket: Sendable, Equatable {
    var rate: Double
    var burst: Double
    private(set) var tokens: Double
    private var lastNanoseconds: UInt64?

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(1, burst)
        self.tokens = max(1, burst)
    }

    /// Takes one token when there is one; else returns how long until there is.
    /// - Returns: nil when a token was taken, else the wait in milliseconds.
    mutating func take(nowNanoseconds now: UInt64) -> Int64? {
        if let last = lastNanoseconds, now > last {
            tokens = min(burst, tokens + Double(now - last) / 1e9 * rate)
        }
        lastNanoseconds = max(now, lastNanoseconds ?? 0)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        guard rate > 0 else { return Int64.max }
        return Int64(((1 - tokens) / rate * 1000).rounded(.up))
    }

    /// New settings (a reload); what is held is kept, up to the new burst.
    mutating func configure(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(1, burst)
        tokens = min(tokens, self.burst)
    }
}
