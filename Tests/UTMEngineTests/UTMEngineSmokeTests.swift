import Testing
@testable import UTMEngine

@Test func UTMEngineBuilds() {
    #expect(Bool(true))
}
