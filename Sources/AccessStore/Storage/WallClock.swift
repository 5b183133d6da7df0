public import AccessCore
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The wall clock, in milliseconds since the epoch: the monotonic clock NIO
/// reads, offset once by the real-time clock at the first use, so that one
/// process's times never go backwards when the system clock is set.
public enum WallClock {
    public static let now: @Sendable () -> Timestamp = {
        Timestamp(millisecondsSinceEpoch: Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) &+ bootOffset)
    }

    private static let bootOffset: Int64 = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let wall = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        return wall - Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
    }()
}
