// `accessd-bench --serve-nio-echo --socket PATH [--threads N]`: an echo server
// on SwiftNIO set up as accessd sets up its connections (N event loops, one
// read of at most 8 KiB per connection per loop turn, the replies of one read
// flushed once). It returns every byte as it came, so a generator reads its
// own frames back as it does from scripts/bench-echo.c. Measured beside the C
// echo server and accessd, it is the floor of the I/O layer accessd is built
// on: what a call costs before any of accessd's own code runs.

import Foundation
import NIOCore
import NIOPosix

final class NIOEchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

func serveNIOEcho(socket: String, threads: Int) async throws -> Never {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
    _ = try await ServerBootstrap(group: group)
        .serverChannelOption(.backlog, value: 256)
        .childChannelOption(.maxMessagesPerRead, value: 1)
        .childChannelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 8 * 1024))
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(NIOEchoHandler())
            }
        }
        .bind(unixDomainSocketPath: socket, cleanupExistingSocketFile: true)
        .get()
    // Unbuffered: the script waits for this line in a file.
    FileHandle.standardOutput.write(Data("listening\n".utf8))
    while true { try await Task.sleep(for: .seconds(3600)) }
}
