import Testing

@testable import AccessCore

/// The core's own SHA-256 (FIPS 180-4), which keeps only hashes of activation
/// tokens (R8): the NIST vectors, the padding boundaries, and the hex helpers.
@Suite struct SHA256Tests {
    private func sha256(_ text: String) -> String { Hex.encode(SHA256.hash(Array(text.utf8))) }
    private func sha256(_ bytes: [UInt8]) -> String { Hex.encode(SHA256.hash(bytes)) }

    @Test func nistVectorEmptyString() {
        #expect(sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func nistVectorABC() {
        #expect(sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func nistVector448Bits() {
        #expect(
            sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func nistVector896Bits() {
        #expect(
            sha256(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
                == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    @Test func nistVectorOneMillionA() {
        #expect(
            sha256([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func nistVectorOneByte() {
        #expect(sha256([0xbd]) == "68325720aabd7c82f30f554b313d0570c95accbb7dc4b5aae11204c08ffe732b")
    }

    /// Lengths around the 55/56/64-byte padding boundaries, where a padding bug shows.
    @Test(arguments: [
        (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
        (119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
        (120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
    ])
    func paddingBoundaries(length: Int, expected: String) {
        #expect(sha256([UInt8](repeating: UInt8(ascii: "a"), count: length)) == expected)
    }

    @Test func everyByteValue() {
        let bytes = (0..<3).flatMap { _ in (0...255).map { UInt8($0) } }
        #expect(sha256(bytes) == "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363")
    }

    @Test func hashingInPiecesOfAnySizeGivesTheHashOfTheWhole() {
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 3) }
        let whole = SHA256.hash(bytes)
        for piece in [1, 7, 63, 64, 65, 1000, 4096] {
            var hasher = SHA256()
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + piece)
                hasher.update(bytes[offset..<end])
                offset = end
            }
            #expect(hasher.finalize() == whole, "in pieces of \(piece)")
        }
        var million = SHA256()
        for _ in 0..<1000 { million.update([UInt8](repeating: 0x61, count: 1000)) }
        #expect(Hex.encode(million.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "NIST: a million 'a'")
    }

    @Test func digestIs32Bytes() {
        #expect(SHA256.hash([]).count == 32)
        #expect(SHA256.hash(Array("abc".utf8)).count == 32)
    }

    @Test func tokenHashIsTheHexOfTheSHA256OfTheToken() {
        #expect(TokenHash(token: "abc").hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TokenHash(token: "abc") != TokenHash(token: "abd"))
    }

    @Test func hexRoundTripsAndRefusesWhatIsNotLowerCaseHex() {
        let bytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xab, 0xff]
        #expect(Hex.encode(bytes) == "00017f80abff")
        #expect(Hex.decode("00017f80abff") == bytes)
        #expect(Hex.decode("") == [])
        #expect(Hex.decode("abc") == nil, "odd length")
        #expect(Hex.decode("AB") == nil, "upper case")
        #expect(Hex.decode("0g") == nil)
    }

    @Test func activationTokensCarry256BitsOfHex() {
        var rng = SeededGenerator(seed: 1)
        let token = ActivationToken.make(using: &rng)
        #expect(token.count == 64)
        #expect(Hex.decode(token)?.count == 32)
        #expect(ActivationToken.make(using: &rng) != token)
    }
}
