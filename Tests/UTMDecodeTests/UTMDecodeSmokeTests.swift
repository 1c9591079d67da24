import Testing
@testable import UTMDecode

@Test func UTMDecodeBuilds() {
    #expect(Bool(true))
}
