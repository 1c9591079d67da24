import Testing
@testable import UTMCore

@Test func UTMCoreBuilds() {
    #expect(Bool(true))
}
