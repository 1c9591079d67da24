import Testing
@testable import UTMFlow

@Test func UTMFlowBuilds() {
    #expect(Bool(true))
}
