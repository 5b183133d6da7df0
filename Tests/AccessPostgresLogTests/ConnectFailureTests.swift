import AccessPostgresLog
import Foundation
import NIOCore
import Testing

/// A connection the process's sandbox refuses says which systemd setting
/// refused it and what to do (README, The shared log under systemd); any
/// other failure keeps the system's own words.
@Suite struct ConnectFailureTests {
    @Test func aSocketRefusedByRestrictAddressFamiliesNamesTheSharedLogDropIn() {
        let message = describeConnectFailure(IOError(errnoCode: EAFNOSUPPORT, reason: "socket"))
        #expect(message.contains("may not open TCP sockets"))
        #expect(message.contains("shared-log.conf"))
    }

    @Test func aConnectRefusedByIPAddressDenyNamesIPAddressAllow() {
        let message = describeConnectFailure(IOError(errnoCode: EPERM, reason: "connect"))
        #expect(message.contains("IPAddressAllow="))
    }

    @Test func aRefusedConnectionKeepsTheSystemsWords() {
        let message = describeConnectFailure(IOError(errnoCode: ECONNREFUSED, reason: "connect"))
        #expect(message.contains("connect"))
        #expect(!message.contains("drop-in"))
        #expect(describeConnectFailure(nil) == "connection error")
    }
}
